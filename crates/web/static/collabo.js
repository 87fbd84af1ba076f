// The portal's one script (served at /static/collabo.js; the content security policy
// allows no inline script): a form with data-confirm asks its question before posting.
"use strict";
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
