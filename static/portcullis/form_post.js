// OAuth 2.0 Form Post Response Mode: submit the response to the client as soon as the page loads.
document.addEventListener("DOMContentLoaded", function () {
  document.getElementById("form-post-response").submit();
});
