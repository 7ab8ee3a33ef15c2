/* Sections below the fold are rendered when the reader scrolls near them (no app logic here):
 * a `.lazy-below` container is preceded by a hidden trigger button; once the first screen has
 * drawn (no loading state) and the container is within a screen of the viewport, click the
 * trigger once. Dash then renders the section (callbacks/measure.py, update_below). */
(function () {
  function check() {
    document.querySelectorAll('.lazy-below').forEach(function (el) {
      var trigger = el.previousElementSibling;
      if (!trigger || trigger.tagName !== 'BUTTON' || trigger.dataset.fired === '1') { return; }
      var page = el.closest('.page');
      var content = page && page.querySelector('.content');
      if (!content || content === el || content.children.length === 0) { return; }
      if (document.querySelector("._dash-loading, [data-dash-is-loading='true']")) { return; }
      if (el.getBoundingClientRect().top < window.innerHeight + 100) {
        trigger.dataset.fired = '1';
        trigger.click();
      }
    });
  }
  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; check(); });
  }
  function start() {
    window.addEventListener('scroll', schedule, {passive: true});
    window.addEventListener('resize', schedule);
    new MutationObserver(schedule).observe(document.body, {subtree: true, childList: true});
    schedule();
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
