// The control room's only script: Airflow's colour mode, and what Airflow's sandboxed iframe (Browse >
// Transfers: allow-scripts allow-same-origin allow-forms, no modals, no top navigation, no popups) blocks.
(function () {
  // Follow Airflow's colour mode (next-themes keeps it in localStorage "theme", same origin as this page).
  function apply() {
    var mode = null;
    try { mode = window.localStorage.getItem("theme"); } catch (e) { /* storage blocked */ }
    if (mode === "dark" || mode === "light") document.documentElement.dataset.theme = mode;
    else delete document.documentElement.dataset.theme; // "system": the CSS media query decides
  }
  apply();
  window.addEventListener("storage", function (e) { if (e.key === "theme") apply(); });

  // Dismiss asks in the page, not with confirm() (a sandbox without allow-modals ignores it).
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("form.dismiss button.ask, form.dismiss button.cancel");
    if (!button) return;
    var form = button.form;
    if (button.classList.contains("ask") && !form.reportValidity()) return; // the comment first
    form.querySelector(".confirm").hidden = button.classList.contains("cancel");
    form.querySelector("button.ask").hidden = !button.classList.contains("cancel");
  });

  // A link to one of Airflow's own pages opens in Airflow's window: inside the iframe, Airflow's router is
  // told (same origin: its history and a popstate), as the sandbox allows no top navigation.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-airflow]");
    if (!link || window.top === window || e.ctrlKey || e.metaKey || e.shiftKey) return;
    try {
      var top = window.top;
      top.history.pushState(null, "", link.href);
      top.dispatchEvent(new top.PopStateEvent("popstate", { state: null }));
      e.preventDefault();
    } catch (err) { /* not Airflow's window: an ordinary link */ }
  });
})();
