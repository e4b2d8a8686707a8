// The year selector (dashboard/_year.html): choosing a year opens it at once. An event listener in a
// static file, not an inline onchange handler, which the Content-Security-Policy (script-src 'self') refuses.
(function () {
  for (const select of document.querySelectorAll('form.year-select select[name=year]')) {
    select.addEventListener('change', function () { select.form.submit(); });
  }
})();
