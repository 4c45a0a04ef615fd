// The portal's one script. Pages work as plain forms; this adds only what a
// form cannot do: upload progress, the approval signature made in the browser
// with the head's key file (the file is read here and never sent), and the
// password rules ticked off as they are typed.
"use strict";

(function () {
  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function unhex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) {
      out[i] = parseInt(text.substr(i * 2, 2), 16);
    }
    return out;
  }

  function say(el, text, bad) {
    if (!el) { return; }
    el.textContent = text;
    el.className = bad ? "bad" : "ok";
  }

  // Upload with progress: <form data-upload="/dossiers/ID/upload" data-csrf=…
  // data-into="FORM-ID …">; the stored document's SHA-256 is added to each
  // form named by data-into (ids separated by spaces: a page whose forms
  // all cite a decision, like a move and a transfer) as a hidden
  // `attachments` field.
  function wireUpload(form) {
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-status]");
    var list = form.querySelector("[data-uploaded]");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!input.files.length) { say(status, "Chưa chọn tệp.", true); return; }
      var file = input.files[0];
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("data-upload"));
      xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; }
      });
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = null; }
        if (xhr.status === 201 && answer && answer.sha256) {
          bar.value = bar.max;
          say(status, "Đã tải lên: " + file.name, false);
          (form.getAttribute("data-into") || "").split(/\s+/).forEach(function (id) {
            var into = id ? document.getElementById(id) : null;
            if (into) {
              var hidden = document.createElement("input");
              hidden.type = "hidden";
              hidden.name = "attachments";
              hidden.value = answer.sha256;
              into.appendChild(hidden);
            }
          });
          if (list) {
            var li = document.createElement("li");
            li.textContent = file.name + " (" + answer.bytes + " byte) — SHA-256 " + answer.sha256;
            list.appendChild(li);
          }
          input.value = "";
        } else {
          say(status, (answer && answer.message) || "Không tải lên được tệp.", true);
        }
      });
      xhr.addEventListener("error", function () { say(status, "Mất kết nối khi tải lên.", true); });
      xhr.send(file);
    });
  }

  // PEM "PRIVATE KEY" (PKCS #8, RFC 8410 for Ed25519) → DER bytes.
  function pemBody(text) {
    var m = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(text);
    if (!m) { return null; }
    var raw = atob(m[1].replace(/\s+/g, ""));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  // Approval: <form data-sign data-digest=HEX> with a hidden `signature`; the
  // key file input (id in data-keyfile) is outside the form and has no name,
  // so the browser never submits it.
  function wireSign(form) {
    var status = form.querySelector("[data-status]");
    form.addEventListener("submit", function (e) {
      var sig = form.querySelector("input[name=signature]");
      if (sig.value) { return; }
      e.preventDefault();
      var picker = document.getElementById(form.getAttribute("data-keyfile"));
      if (!picker || !picker.files.length) { say(status, "Chọn tệp khóa ký số trước.", true); return; }
      if (!window.crypto || !window.crypto.subtle) {
        say(status, "Trình duyệt không hỗ trợ ký số (cần kết nối an toàn HTTPS hoặc localhost).", true);
        return;
      }
      picker.files[0].text().then(function (text) {
        var der = pemBody(text);
        if (!der) { throw new Error("Tệp khóa không đúng định dạng PEM PRIVATE KEY (PKCS #8)."); }
        return window.crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
      }).then(function (key) {
        return window.crypto.subtle.sign({ name: "Ed25519" }, key, unhex(form.getAttribute("data-digest")));
      }).then(function (signature) {
        sig.value = hex(signature);
        say(status, "Đã ký. Đang gửi chữ ký…", false);
        form.submit();
      }).catch(function (err) {
        say(status, "Không ký được: " + (err && err.message ? err.message : err), true);
      });
    });
  }

  // Password rules (DT 10.1–10.2), ticked as the new password is typed; the
  // server checks them again, with the personal-data rules it alone can.
  function wirePassword(input) {
    var rules = document.querySelectorAll("ul.rules li[data-rule]");
    function check() {
      var v = input.value;
      var tests = {
        length: Array.from(v).length >= 12,
        upper: /\p{Lu}/u.test(v),
        lower: /\p{Ll}/u.test(v),
        digit: /[0-9]/.test(v),
        special: /[^\p{L}\p{N}\s]/u.test(v)
      };
      rules.forEach(function (li) {
        var met = tests[li.getAttribute("data-rule")];
        if (met === undefined) { return; }
        li.classList.toggle("met", met);
      });
    }
    input.addEventListener("input", check);
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(wireUpload);
    document.querySelectorAll("form[data-sign]").forEach(wireSign);
    var pw = document.getElementById("new-password");
    if (pw) { wirePassword(pw); }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });
})();
