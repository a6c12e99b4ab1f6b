/* The calculator's Print button (no inline scripts under the Content-Security-Policy). */
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) {
    window.print();
  }
});
