// The API page's tabs: enhancements only, every form works without this file.
// - "Copy" buttons (hidden until this script runs) copy a snippet or the test token.
// - On the Machine to Machine Applications tab, an application's permission boxes are folded
//   away while its switch is off, and shown when it is switched on.
"use strict";
(function () {
    function copyText(text) {
        if (navigator.clipboard && window.isSecureContext) {
            return navigator.clipboard.writeText(text);
        }
        // Plain http (not localhost): no Clipboard API; select a hidden textarea and copy it.
        const area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.className = "visually-hidden";
        document.body.appendChild(area);
        area.select();
        const copied = document.execCommand("copy");
        area.remove();
        return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }

    function setUpCopyButtons() {
        for (const button of document.querySelectorAll("button.portcullis-copy[data-copy]")) {
            const source = document.getElementById(button.dataset.copy);
            if (!source) {
                continue;
            }
            const label = button.firstChild.textContent;
            button.hidden = false;
            button.addEventListener("click", function () {
                copyText(source.textContent).then(
                    function () {
                        button.firstChild.textContent = "Copied";
                        button.dataset.copied = "";
                        window.setTimeout(function () {
                            button.firstChild.textContent = label;
                            delete button.dataset.copied;
                        }, 2000);
                    },
                    function () {
                        button.firstChild.textContent = "Select and copy";
                    }
                );
            });
        }
    }

    function setUpSwitches() {
        for (const scopes of document.querySelectorAll("fieldset[data-scopes-for]")) {
            const toggle = document.getElementById(scopes.dataset.scopesFor);
            if (!toggle) {
                continue;
            }
            const update = function () {
                scopes.hidden = !toggle.checked;
            };
            toggle.addEventListener("change", update);
            update();
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        setUpCopyButtons();
        setUpSwitches();
    });
})();
