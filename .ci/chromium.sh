# Sourced by .ci/run: make Debian's headless-capable Chromium available for tests/test_report.py.
# Idempotent: does nothing when /usr/bin/chromium is already there; never fails the CI run
# (tests/test_report.py skips with a reason when the browser is absent).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "chromium.sh: installing Debian's chromium (needed by the report browser test)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "chromium.sh: install failed; the browser test will skip"
  else
    echo "chromium.sh: /usr/bin/chromium absent and cannot apt-get as non-root; browser test will skip"
  fi
fi
