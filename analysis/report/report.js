// Inlined into the report page: sortable leaderboard, the real-or-fake quiz, and a self-test
// (?selftest=1) that clicks through both and writes its verdict onto <body data-selftest>.
(function () {
  "use strict";
  function cellValue(row, i, numeric) {
    var td = row.cells[i];
    var raw = td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent.trim();
    if (!numeric) { return raw; }
    var v = parseFloat(raw);
    return isNaN(v) ? Infinity : v;           // missing values sort last
  }
  function sortBy(table, th) {
    var i = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var numeric = th.getAttribute("data-type") === "num";
    var asc = !th.classList.contains("sorted-asc");
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.classList.remove("sorted-asc", "sorted-desc"); });
    th.classList.add(asc ? "sorted-asc" : "sorted-desc");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, i, numeric), y = cellValue(b, i, numeric);
      var r = numeric ? x - y : String(x).localeCompare(String(y));
      if (isNaN(r)) { r = 0; }
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setup() {
    var table = document.getElementById("leaderboard");
    if (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        th.addEventListener("click", function () { sortBy(table, th); });
      });
    }
    var quiz = document.getElementById("quiz");
    if (quiz) {
      Array.prototype.forEach.call(quiz.querySelectorAll(".tile"), function (t) {
        t.addEventListener("click", function () { t.classList.add("revealed", t.getAttribute("data-answer")); });
      });
      var all = document.getElementById("reveal-all");
      all.addEventListener("click", function () {
        Array.prototype.forEach.call(quiz.querySelectorAll(".tile"), function (t) { t.click(); });
      });
    }
  }
  function selftest() {
    var problems = [];
    var table = document.getElementById("leaderboard");
    var nRows = table ? table.tBodies[0].rows.length : 0;
    document.body.setAttribute("data-leaderboard-rows", String(nRows));
    if (String(nRows) !== document.body.getAttribute("data-n-trials")) { problems.push("leaderboard rows " + nRows); }
    if (table) {
      var th = table.tHead.rows[0].cells[0];
      th.click(); th.click();                 // descending by trial number
      var first = table.tBodies[0].rows[0].cells[0].getAttribute("data-v");
      var last = table.tBodies[0].rows[nRows - 1].cells[0].getAttribute("data-v");
      if (nRows > 1 && !(parseFloat(first) >= parseFloat(last))) { problems.push("sort"); }
    }
    var quiz = document.getElementById("quiz");
    if (!quiz) { problems.push("no quiz"); } else {
      var tiles = quiz.querySelectorAll(".tile");
      tiles[0].click();
      var one = quiz.querySelectorAll(".tile.revealed").length;
      var shown = getComputedStyle(tiles[0].querySelector(".answer")).display !== "none";
      document.getElementById("reveal-all").click();
      var allShown = quiz.querySelectorAll(".tile.revealed").length;
      document.body.setAttribute("data-quiz", one + "/" + allShown + "/" + tiles.length);
      if (one !== 1 || !shown || allShown !== tiles.length) { problems.push("quiz reveal"); }
    }
    document.body.setAttribute("data-console-errors", String(window.__errors.length));
    if (window.__errors.length) { problems.push("errors: " + window.__errors.join(" | ")); }
    document.body.setAttribute("data-selftest", problems.length ? "fail: " + problems.join("; ") : "ok");
  }
  setup();
  if (/[?&]selftest=1\b/.test(location.search)) { selftest(); }
})();
