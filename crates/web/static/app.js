// Progressive enhancement only: the pages work without it.
(function () {
  "use strict";
  var opinion = document.getElementById("opinion");
  var counter = document.getElementById("opinion-count");
  if (opinion && counter) {
    var max = parseInt(opinion.getAttribute("data-max"), 10);
    var update = function () {
      var n = Array.from(opinion.value).length;
      counter.textContent = counter.getAttribute("data-template").replace("{n}", n).replace("{max}", max);
    };
    opinion.addEventListener("input", update);
    update();
  }
  var refresh = document.getElementById("captcha-refresh");
  if (refresh) {
    refresh.addEventListener("click", function (e) {
      e.preventDefault();
      // Refused (too many captchas): the link's own page says why and for how long.
      var follow = function () { window.location.href = refresh.href; };
      fetch("/api/v1/captcha", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (c) {
          document.getElementById("captcha-image").src = c.image;
          document.getElementById("captcha_id").value = c.captcha_id;
          document.getElementById("captcha_answer").value = "";
          document.getElementById("captcha_answer").focus();
        })
        .catch(follow);
    });
  }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var form = document.getElementById("comment-form");
  if (form) {
    form.addEventListener("submit", function () {
      var b = form.querySelector("button[type=submit]");
      if (b) { b.disabled = true; }
    });
  }
})();
