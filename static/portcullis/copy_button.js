// The portal's one copy button (one-time secrets, snippets, the API's test token):
//
//   <button type="button" class="button portcullis-copy" hidden data-copy-target="ID">Copy<span
//     class="visually-hidden"> the curl request</span></button>
//   <span class="portcullis-copy-status" role="status" aria-live="polite"></span>
//
// copies the text of the element with id ID, says so on the button for a moment, and in the
// status element next to it (read out by screen readers). A real <button>, so Tab, Enter and
// Space work. Buttons stay hidden until this script shows them: without it they could do nothing.
// The Clipboard API needs a secure context (https, or localhost); elsewhere the text is copied
// with execCommand, or left selected for Ctrl+C. No inline script anywhere: the CSP forbids it.
"use strict";
(function () {
    const SELECTOR = "button[data-copy-target]";
    const COPIED_FOR_MS = 2000;

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

    // The visible word ("Copy"); a visually hidden span after it, if any, names what is copied.
    function setLabel(button, text) {
        const first = button.firstChild;
        if (first && first.nodeType === Node.TEXT_NODE) {
            first.textContent = text;
        } else {
            button.insertBefore(document.createTextNode(text), first);
        }
    }

    async function copy(button) {
        const target = document.getElementById(button.dataset.copyTarget);
        if (!target) {
            return;
        }
        const text = target.textContent.trim();
        announce(button, "");
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
            setLabel(button, "Copied");
            button.dataset.copied = "true";
            announce(button, "Copied to the clipboard.");
            window.clearTimeout(button.portcullisCopyTimer);
            button.portcullisCopyTimer = window.setTimeout(function () {
                setLabel(button, button.dataset.copyLabel);
                delete button.dataset.copied;
            }, COPIED_FOR_MS);
        } else {
            selectContents(target);
            announce(button, "Selected: press Ctrl+C (or Cmd+C) to copy.");
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        for (const button of document.querySelectorAll(SELECTOR)) {
            if (document.getElementById(button.dataset.copyTarget)) {
                button.dataset.copyLabel = button.firstChild ? button.firstChild.textContent : "Copy";
                button.hidden = false;
            }
        }
    });

    document.addEventListener("click", function (event) {
        const button = event.target.closest(SELECTOR);
        if (button && !button.hidden) {
            copy(button);
        }
    });
})();
