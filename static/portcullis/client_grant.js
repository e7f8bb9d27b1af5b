// Client grant form: show only the scopes of the API that is selected (each checkbox
// carries data-api). The server still checks every scope against the chosen API.
"use strict";
(function () {
    function update() {
        const api = document.getElementById("id_api");
        const scopes = document.getElementById("id_scopes");
        if (!api || !scopes || api.tagName !== "SELECT") {
            return;
        }
        for (const group of scopes.children) {
            const input = group.querySelector("input[data-api]");
            if (!input) {
                continue;
            }
            const shown = !api.value || input.dataset.api === api.value;
            group.hidden = !shown;
            if (!shown) {
                for (const box of group.querySelectorAll("input[type=checkbox]")) {
                    box.checked = false;
                }
            }
        }
    }
    document.addEventListener("DOMContentLoaded", function () {
        const api = document.getElementById("id_api");
        if (api) {
            api.addEventListener("change", update);
            update();
        }
    });
})();
