// The API page's Machine to Machine Applications tab: an application's permission boxes are
// folded away while its switch is off, and shown when it is switched on. An enhancement only:
// the form works without this file. (Copy buttons on the Test tab: static/portcullis/copy_button.js.)
"use strict";
(function () {
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

    document.addEventListener("DOMContentLoaded", setUpSwitches);
})();
