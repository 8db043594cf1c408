// Follow Airflow's colour mode (next-themes keeps it in localStorage "theme", same origin as this page).
(function () {
  function apply() {
    var mode = null;
    try { mode = window.localStorage.getItem("theme"); } catch (e) { /* storage blocked */ }
    if (mode === "dark" || mode === "light") document.documentElement.dataset.theme = mode;
    else delete document.documentElement.dataset.theme; // "system": the CSS media query decides
  }
  apply();
  window.addEventListener("storage", function (e) { if (e.key === "theme") apply(); });
  // Ask before dismissing: the record leaves the quarantine (the comment stays in the history).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.classList && form.classList.contains("dismiss") && window.confirm
        && !window.confirm("Dismiss this record? It will not be retried any more.")) e.preventDefault();
  });
})();
