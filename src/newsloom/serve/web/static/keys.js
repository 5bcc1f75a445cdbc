/* Keyboard shortcuts for newsloom's pages. Plain script, no dependencies, loaded with `defer`
 * (the site's policy is `script-src 'self'`: nothing inline, no eval).
 *
 * Every action here is a link or a form already on the page, so a reader without JavaScript
 * loses only the keys:
 *   j / k      next / previous item (an element with `data-item`): highlighted, scrolled to,
 *              its link focused
 *   o, Enter   open the current item (its `data-open`, else its first link)
 *   m          submit the current item's mark-read form, or with no item chosen the page's
 *   s          submit the current item's follow form, or with no item chosen the page's
 *   /          focus the search box
 *   ?          show or hide the list of keys (Escape closes it)
 * An item names its forms with `data-read-form` / `data-follow-form` (an element id or a CSS
 * selector), or holds them; the page's forms are those in <main> outside every item. Keys are
 * left alone while typing in a field and while Ctrl, Alt or Meta is held.
 */
(function () {
  "use strict";

  var FORMS = {
    read: "form.mark-read, form.mark-read-form, form[data-mark-read], form[action$='/read']",
    follow: "form.follow-form"
  };
  var current = null;

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function linkOf(item) {
    return item.querySelector("a[href]");
  }

  function select(item) {
    if (current && current !== item) current.classList.remove("kbd-current");
    current = item;
    item.classList.add("kbd-current");
    var link = linkOf(item);
    if (link) link.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest", behavior: reducedMotion() ? "auto" : "smooth" });
  }

  function move(step) {
    var list = items();
    if (!list.length) return;
    // Start from the item holding the focus (a reader may have tabbed or clicked into one).
    var from = current;
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("[data-item]") : null;
    if (focused) from = focused;
    var i = from ? list.indexOf(from) : -1;
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(i + step, 0), list.length - 1);
    select(list[next]);
  }

  function open(item) {
    var href = item.getAttribute("data-open");
    if (!href) {
      var link = linkOf(item);
      href = link && link.getAttribute("href");
    }
    if (href) window.location.assign(href);
  }

  function named(ref) {
    if (!ref) return null;
    var el = document.getElementById(ref);
    if (!el) {
      try { el = document.querySelector(ref); } catch (e) { el = null; }
    }
    return el && el.tagName === "FORM" ? el : null;
  }

  function formFor(kind) {
    if (current && document.contains(current)) {
      return named(current.getAttribute("data-" + kind + "-form")) || current.querySelector(FORMS[kind]);
    }
    var scope = document.querySelector("main") || document.body;
    var forms = scope.querySelectorAll(FORMS[kind]);
    for (var i = 0; i < forms.length; i++) {
      if (!forms[i].closest("[data-item]")) return forms[i];
    }
    return null;
  }

  function submit(form) {
    if (!form) return false;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
    return true;
  }

  function toggleHelp(dialog) {
    if (dialog.open) dialog.close();
    else if (dialog.showModal) dialog.showModal();
    else dialog.setAttribute("open", "");
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    var dialog = document.getElementById("keys-help");
    var key = event.key;
    if (dialog && dialog.open) {
      if (key === "Escape" || key === "?") {
        dialog.close();
        event.preventDefault();
      }
      return;
    }
    if (typing(event.target)) return;
    var handled = true;
    switch (key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
        if (current) open(current); else handled = false;
        break;
      case "Enter":
        // A focused link or button already does the right thing on Enter.
        var active = document.activeElement;
        if (current && (!active || active === document.body || active === current)) open(current);
        else handled = false;
        break;
      case "m": handled = submit(formFor("read")); break;
      case "s": handled = submit(formFor("follow")); break;
      case "/":
        var search = document.getElementById("site-q") || document.querySelector("input[type=search]");
        if (search) { search.focus(); search.select(); } else handled = false;
        break;
      case "?":
        if (dialog) toggleHelp(dialog); else handled = false;
        break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  }

  document.addEventListener("keydown", onKey);
  document.documentElement.classList.add("has-keys");
})();
