/* Accessibility fixes for Dash 4's dcc.Dropdown (no app logic here).
 * Dash 4 renders a hidden, aria-hidden but focusable <input> that forwards focus to the real
 * trigger <button tabindex=-1>, and labels the button by its value only. That fails WCAG
 * (aria-hidden-focus; the control's name omits its label). Make the button itself the tab stop,
 * take the decoy input out of the tab order, and label the button "<label> <value>". */
(function () {
  function fix() {
    document.querySelectorAll('.dash-dropdown-wrapper').forEach(function (wrapper) {
      var decoy = wrapper.querySelector('.dash-dropdown-focus-target');
      var button = wrapper.querySelector('button.dash-dropdown');
      if (decoy && decoy.getAttribute('tabindex') !== '-1') { decoy.setAttribute('tabindex', '-1'); }
      if (!button) { return; }
      if (button.getAttribute('tabindex') !== '0' && !button.disabled) { button.setAttribute('tabindex', '0'); }
      var holder = wrapper.closest('.filter');
      var label = holder && holder.querySelector('label[id]');
      if (label) {
        var want = label.id + ' ' + button.id + '-value';
        if (button.getAttribute('aria-labelledby') !== want) { button.setAttribute('aria-labelledby', want); }
      }
    });
  }
  function start() {
    fix();
    new MutationObserver(fix).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ['tabindex', 'aria-labelledby']
    });
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
