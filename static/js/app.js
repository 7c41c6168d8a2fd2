/* Namaskah: helpers every page uses. Our own code, no framework; loaded with `defer`.
 *
 * Rules kept here for the whole dashboard:
 * - every request sends the session cookie, and every unsafe one the CSRF token;
 * - text from the server (SMS, names) is only ever written with textContent, never as HTML;
 * - times arrive as ISO 8601 and are shown in the reader's own time zone.
 */
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* fetch() against our JSON API. Resolves to {ok, status, data, headers}; rejects only on a network failure. */
  async function api(path, options) {
    const opts = options || {};
    const method = opts.method || "GET";
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
    const init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null; // an HTML error page (e.g. Django's CSRF failure) has no JSON body
    }
    return { ok: response.ok, status: response.status, data: data, headers: response.headers };
  }

  function errorOf(result) {
    return (result && result.data && result.data.error) || {};
  }

  function retryAfter(result, fallback) {
    const fromBody = Number(errorOf(result).retry_after);
    const fromHeader = Number(result && result.headers && result.headers.get("Retry-After"));
    return fromBody || fromHeader || fallback;
  }

  /* The API sends money as strings with two decimals ("4.00"): shown as they are, never as floats. */
  function money(value) {
    return value == null ? "—" : "$" + value;
  }

  function setBalance(value) {
    const el = document.getElementById("balance");
    if (!el || value == null) return;
    if (el.textContent !== money(value)) {
      el.textContent = money(value);
      el.classList.remove("changed");
      void el.offsetWidth; // restart the highlight animation
      el.classList.add("changed");
    }
  }

  async function refreshBalance() {
    try {
      const result = await api("/account");
      if (result.ok) setBalance(result.data.balance);
    } catch (err) {
      /* the next successful call updates it */
    }
  }

  function localTime(iso, options) {
    if (!iso) return "";
    const date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toLocaleString(undefined, options);
  }

  function localizeTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      const iso = el.getAttribute("datetime");
      el.title = iso;
      el.textContent = localTime(iso);
    });
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("the browser refused to copy");
  }

  /* Copy `text` and say so on the button for two seconds. */
  async function copyFrom(button, text) {
    let ok = true;
    try {
      await copyText(text);
    } catch (err) {
      ok = false;
    }
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("copied", ok);
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("copied");
    }, 2000);
  }

  // How a country writes its numbers at home (trunk prefix and grouping), by dialling code; each #
  // takes one digit of the national number. A number of another length falls back to plain groups.
  const NATIONAL_PATTERNS = {
    44: "0#### ######", 49: "0## ########", 61: "(0#) #### ####", 33: "0# ## ## ## ##", 31: "0#-########",
    34: "### ### ###", 48: "### ### ###", 91: "##### #####", 55: "(##) #####-####", 52: "## #### ####",
  };

  /* +15550101234 → (555) 010-1234, +447700900123 → 07700 900123; otherwise the digits after the
   * country code, grouped. */
  function nationalFormat(e164, diallingCode) {
    if (!e164) return "";
    const digits = String(e164).replace(/\D/g, "");
    if (digits.length === 11 && digits[0] === "1") {
      return "(" + digits.slice(1, 4) + ") " + digits.slice(4, 7) + "-" + digits.slice(7);
    }
    const cc = String(diallingCode || "").replace(/\D/g, "");
    const rest = cc && digits.indexOf(cc) === 0 ? digits.slice(cc.length) : digits;
    const pattern = NATIONAL_PATTERNS[cc];
    if (pattern && pattern.split("#").length - 1 === rest.length) {
      let next = 0;
      return pattern.replace(/#/g, function () { return rest[next++]; });
    }
    return rest.replace(/(\d{3})(?=\d{4})/g, "$1 ");
  }

  /* A v4 UUID; crypto.randomUUID() needs a secure context, getRandomValues() does not. */
  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // <button data-copy="#selector"> copies that element's text (the new API key).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const target = document.querySelector(button.dataset.copy);
    if (target) copyFrom(button, target.textContent.trim());
  });

  // <form data-confirm="question"> asks before it is sent (revoking a key).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
  });

  window.Namaskah = {
    api: api, errorOf: errorOf, retryAfter: retryAfter, money: money, setBalance: setBalance,
    refreshBalance: refreshBalance, localTime: localTime, localizeTimes: localizeTimes, copyFrom: copyFrom,
    nationalFormat: nationalFormat, uuid: uuid,
  };
})();
