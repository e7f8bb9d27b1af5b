// Tabs over the sections of one page (an application's page): nav.portcullis-tabs holds links
// whose data-tab names a section[data-tab-panel] by id. One section shows at a time: the one
// with a form error, else the one in the URL's #fragment, else the first. Without this script
// every section shows and the links jump to them. The tabs are links, so Tab and Enter work.
"use strict";
(function () {
    function setup(nav) {
        const links = Array.from(nav.querySelectorAll("a[data-tab]"));
        const panels = links
            .map(function (link) { return document.getElementById(link.dataset.tab); })
            .filter(Boolean);
        if (!panels.length) {
            return;
        }
        const form = panels[0].closest("form");

        function show(id) {
            for (const panel of panels) {
                panel.hidden = panel.id !== id;
            }
            for (const link of links) {
                if (link.dataset.tab === id) {
                    link.setAttribute("aria-current", "true");
                } else {
                    link.removeAttribute("aria-current");
                }
            }
            // "Save and continue editing" comes back to the same tab.
            if (form) {
                form.setAttribute("action", "#" + id);
            }
        }

        const wanted = window.location.hash.slice(1);
        const withErrors = panels.find(function (panel) {
            return panel.querySelector(".errorlist, .errors");
        });
        const byHash = panels.find(function (panel) { return panel.id === wanted; });
        show((withErrors || byHash || panels[0]).id);
        nav.classList.add("portcullis-tabs-active");

        for (const link of links) {
            link.addEventListener("click", function (event) {
                if (!document.getElementById(link.dataset.tab)) {
                    return;
                }
                event.preventDefault();
                show(link.dataset.tab);
                window.history.replaceState(null, "", "#" + link.dataset.tab);
            });
        }
        window.addEventListener("hashchange", function () {
            const id = window.location.hash.slice(1);
            if (panels.some(function (panel) { return panel.id === id; })) {
                show(id);
            }
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        for (const nav of document.querySelectorAll("nav.portcullis-tabs")) {
            setup(nav);
        }
    });
})();
