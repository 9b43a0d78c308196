// Calmony Pay dashboard: a "Copy" button for a value shown once (a new key,
// a portal link). The page works without it: the value can be selected.
// The button stays hidden where the clipboard cannot be written.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(source.textContent.trim()).then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Copy failed: select the text instead"; },
    );
  });
});
