// Copy buttons: <button type="button" hidden data-copy-target="ID"> copies the text of the
// element with that id (a one-time secret, a snippet), and says so in the status element next to
// it (role="status", read out by screen readers). A real <button>, so Enter and Space work. The
// buttons are hidden until this script shows them: without it they could do nothing.
// The Clipboard API needs a secure context (https, or localhost); elsewhere the text is
// selected and copied with execCommand, or left selected for Ctrl+C.
"use strict";
(function () {
    function selectContents(element) {
        const range = document.createRange();
        range.selectNodeContents(element);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
    }

    function legacyCopy(element) {
        selectContents(element);
        try {
            return document.execCommand("copy");
        } catch (error) {
            return false;
        }
    }

    function announce(button, message) {
        const status = button.parentElement.querySelector(".portcullis-copy-status");
        if (status) {
            status.textContent = message;
        }
    }

    async function copy(button) {
        const target = document.getElementById(button.dataset.copyTarget);
        if (!target) {
            return;
        }
        const text = target.textContent.trim();
        let copied = false;
        if (navigator.clipboard && window.isSecureContext) {
            try {
                await navigator.clipboard.writeText(text);
                copied = true;
            } catch (error) {
                copied = false;
            }
        }
        if (!copied) {
            copied = legacyCopy(target);
        }
        if (copied) {
            button.textContent = "Copied";
            button.dataset.copied = "true";
            announce(button, "Copied to the clipboard.");
        } else {
            selectContents(target);
            announce(button, "Selected: press Ctrl+C (or Cmd+C) to copy.");
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        for (const button of document.querySelectorAll("button[data-copy-target]")) {
            button.hidden = false;
        }
    });

    document.addEventListener("click", function (event) {
        const button = event.target.closest("button[data-copy-target]");
        if (button) {
            copy(button);
        }
    });
})();
