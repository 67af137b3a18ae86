// Names for the controls Bokeh draws without one, so that a screen reader (and anyone's
// tooltip) can tell them apart: a checkbox by its label, a slider by its title and the layer
// it belongs to, a toolbar button by its description (both languages, as the page writes
// them). Bokeh draws every widget into a shadow root of its own: each is watched as it appears.
(() => {
  const text = (element) => (element?.textContent ?? "").replace(/\s+/g, " ").trim();

  // the label of the layer a control is in: its layer card's checkbox (cards are Panel
  // columns with the class layer-card; the checkbox is the first in the card)
  function layerOf(node) {
    for (let host = node.getRootNode().host; host; host = host.getRootNode().host) {
      if (!host.classList.contains("layer-card")) continue;
      const box = findDeep(host.shadowRoot, "input[type=checkbox]");
      return box ? box.getAttribute("aria-label") ?? text(box.nextElementSibling) : null;
    }
    return null;
  }

  function findDeep(root, selector) {
    const found = root.querySelector(selector);
    if (found) return found;
    for (const element of root.querySelectorAll("*")) {
      const inside = element.shadowRoot && findDeep(element.shadowRoot, selector);
      if (inside) return inside;
    }
    return null;
  }

  function name(root) {
    for (const box of root.querySelectorAll("input[type=checkbox]:not([aria-label])")) {
      const label = text(box.nextElementSibling);
      if (label) box.setAttribute("aria-label", label);
      if (label) box.title = label;
    }
    for (const handle of root.querySelectorAll(".noUi-handle:not([aria-label])")) {
      const title = text(root.querySelector(".bk-slider-title")).replace(/:[^:]*$/, "");
      const layer = layerOf(handle);
      if (title) handle.setAttribute("aria-label", layer ? `${title}: ${layer}` : title);
    }
    for (const button of root.querySelectorAll(".bk-OnOffButton[title], .bk-ClickButton[title]")) {
      if (button.getAttribute("aria-label") === button.title) continue;
      button.setAttribute("role", "button");
      button.setAttribute("aria-label", button.title);
    }
    for (const element of root.querySelectorAll("*")) {
      if (element.shadowRoot) watch(element.shadowRoot);
    }
  }

  const watched = new WeakSet();
  function watch(root) {
    if (watched.has(root)) return;
    watched.add(root);
    let queued = false;
    const later = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; name(root); });
    };
    new MutationObserver(later).observe(root, {childList: true, subtree: true});
    later();
  }
  watch(document);
})();
