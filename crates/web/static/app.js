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
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  var form = document.getElementById("comment-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var b = form.querySelector("button[type=submit]");
    if (b) { b.disabled = true; }
  });

  // The page is the same for everyone (and cached): it carries no captcha, CSRF token or form
  // id. They are fetched when the form is first used, so that sending it is one step; without
  // this script, the first POST answers with them instead.
  var slot = document.getElementById("captcha-slot");
  var answer = document.getElementById("captcha_answer");
  var kind = document.getElementById("captcha_kind");
  var tokenUrl = form.getAttribute("data-token");
  if (!slot || !answer || !kind || !tokenUrl) { return; }
  var loading = false;
  var refused = function (message) {
    var p = document.createElement("p");
    p.className = "box";
    p.id = "captcha-unavailable";
    p.setAttribute("role", "alert");
    p.textContent = message;
    slot.textContent = "";
    slot.appendChild(p);
  };
  // Fetches a token and a captcha of this kind and puts them in the form; `follow` is the
  // link to open instead when that fails (the page then makes its own).
  var fill = function (want, focus, follow) {
    if (loading) { return; }
    loading = true;
    fetch(tokenUrl + "captcha=" + encodeURIComponent(want), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, j: j }; });
      })
      .then(function (x) {
        loading = false;
        if (!x.ok) {
          refused(x.j && x.j.error ? x.j.error.message : "");
          return;
        }
        form.elements.csrf.value = x.j.csrf;
        document.getElementById("captcha_id").value = x.j.captcha_id;
        kind.value = x.j.captcha_kind;
        slot.innerHTML = x.j.html;
        answer.disabled = false;
        answer.value = "";
        answer.setAttribute("inputmode", x.j.captcha_kind === "audio" ? "numeric" : "text");
        if (!answer.hasAttribute("aria-invalid")) {
          if (document.getElementById("captcha-audio-help")) {
            answer.setAttribute("aria-describedby", "captcha-audio-help");
          } else {
            answer.removeAttribute("aria-describedby");
          }
        }
        wire();
        if (focus) { answer.focus(); }
      })
      .catch(function () {
        loading = false;
        if (follow) { window.location.href = follow; }
      });
  };
  // "Another image", "listen instead", "another recording", "an image instead".
  var wire = function () {
    Array.prototype.forEach.call(slot.querySelectorAll("a[data-captcha]"), function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        fill(a.getAttribute("data-captcha"), true, a.href);
      });
    });
  };
  wire();
  if (form.hasAttribute("data-deferred")) {
    var first = function () {
      form.removeEventListener("focusin", first);
      form.removeEventListener("input", first);
      fill(kind.value, false, null);
    };
    form.addEventListener("focusin", first);
    form.addEventListener("input", first);
  }
})();
