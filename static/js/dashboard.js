/* The dashboard: the new-verification panel and the live verification cards.
 *
 * Everything goes through the JSON API with the session cookie and the CSRF header, so the page
 * buys, polls, cancels and reports exactly as an integrator does. SMS text is written by strangers:
 * it is only ever set with textContent. Each SMS or call is drawn by static/js/inbox.js.
 */
(function () {
  "use strict";

  const N = window.Namaskah;
  const root = document.getElementById("dashboard");
  if (!root || !N) return;

  const POLL_MS = Math.max(1000, Number(root.dataset.refreshInterval || 3) * 1000);
  const STATUS_LABEL = {
    pending: "Waiting for the code", completed: "Code received", cancelled: "Cancelled",
    expired: "Expired", failed: "Failed",
  };
  const cardsEl = document.getElementById("cards");
  const emptyEl = document.getElementById("cards-empty");
  const template = document.getElementById("card-template");
  const cards = new Map();

  // --- the new-verification panel --------------------------------------------------------------

  const form = document.getElementById("new-verification");
  const countrySelect = document.getElementById("country");

  function countryOption(code) {
    if (!countrySelect) return null;
    return Array.from(countrySelect.options).find(function (o) { return o.value === code; }) || null;
  }

  function normalise(text) {
    return String(text || "").toLowerCase().replace(/[^a-z0-9]/g, "");
  }

  function setUpPurchase() {
    const service = document.getElementById("service");
    const search = document.getElementById("service-search");
    const noMatch = document.getElementById("service-none");
    const countryNote = document.getElementById("country-note");
    const capabilityNote = document.getElementById("capability-note");
    const priceEl = document.getElementById("price");
    const button = document.getElementById("create");
    const buttonLabel = button.querySelector(".button-label");
    const errorEl = document.getElementById("create-error");
    const radios = Array.from(form.querySelectorAll('input[name="capability"]'));
    const pricesEl = document.getElementById("country-prices");
    const prices = pricesEl ? JSON.parse(pricesEl.textContent) : null;
    let intent = null; // {fingerprint, key}: one Idempotency-Key per purchase intent
    let inFlight = false;
    let wanted = capability(); // the customer's own choice; a service that lacks it only borrows the other

    function chosenService() {
      const option = service.selectedIndex >= 0 ? service.options[service.selectedIndex] : null;
      return option && !option.hidden ? option : null;
    }

    function capability() {
      const checked = radios.find(function (r) { return r.checked; });
      return checked ? checked.value : "sms";
    }

    function update() {
      const option = chosenService();
      if (option) {
        // Offer only what the service sells. The customer's choice comes back as soon as a service
        // sells it again: a voice-only service must not leave later purchases on voice (+premium).
        radios.forEach(function (r) { r.disabled = !option.dataset[r.value]; });
        const pick = radios.find(function (r) { return r.value === wanted && !r.disabled; }) ||
          radios.find(function (r) { return !r.disabled; });
        if (pick) pick.checked = true;
        const only = radios.filter(function (r) { return !r.disabled; });
        capabilityNote.hidden = only.length !== 1;
        capabilityNote.textContent = only.length === 1
          ? option.dataset.name + " is sold for " + (only[0].value === "voice" ? "voice calls" : "SMS") + " only." : "";
      }
      const country = countrySelect.options[countrySelect.selectedIndex];
      let amount = option ? option.dataset[capability()] : "";
      // The price in the chosen country (selectors.price_map): it never falls below the serving
      // provider's cost there plus our margin, and a service no provider sells there has none.
      const inCountry = prices && country ? prices[country.value] || {} : null;
      if (option && inCountry) {
        const cell = inCountry[option.value];
        amount = cell ? cell[capability() === "voice" ? 1 : 0] || "" : "";
      }
      priceEl.textContent = amount ? "$" + amount : (option && country ? "not sold in " + country.value + " now" : "—");
      priceEl.dataset.amount = amount || "";
      countryNote.hidden = !(country && country.dataset.simulated);
      button.disabled = inFlight || !amount || !country || country.disabled;
    }

    function filterServices() {
      const query = normalise(search.value);
      const current = chosenService();
      let first = null;
      let keep = false;
      service.querySelectorAll("optgroup").forEach(function (group) {
        let any = false;
        group.querySelectorAll("option").forEach(function (option) {
          const match = !query || normalise(option.dataset.name).indexOf(query) !== -1 || option.value.indexOf(query) !== -1;
          option.hidden = !match;
          option.disabled = !match;
          if (match) {
            any = true;
            first = first || option;
            keep = keep || option === current;
          }
        });
        group.hidden = !any;
      });
      if (!keep) service.selectedIndex = first ? first.index : -1;
      noMatch.hidden = Boolean(first);
      update();
    }

    function setBusy(busy) {
      inFlight = busy;
      button.classList.toggle("busy", busy);
      button.setAttribute("aria-busy", busy ? "true" : "false");
      buttonLabel.textContent = busy ? "Creating…" : "Create verification";
      update();
    }

    function showError(message, link) {
      errorEl.textContent = message;
      if (link) { // a 402: where to add funds
        const a = document.createElement("a");
        a.href = link;
        a.textContent = "Add funds";
        errorEl.append(" ", a);
      }
      errorEl.hidden = !message;
    }

    function purchaseError(result) {
      const error = N.errorOf(result);
      switch (result.status) {
        case 402:
          return "Insufficient balance: this verification costs $" + error.required + " and your balance is $" +
            error.balance + ". You are missing $" + error.missing + ".";
        case 503:
          return "The number provider is unavailable right now; nothing was charged. Try again in " +
            N.retryAfter(result, 30) + " s.";
        case 429:
          return "Too many purchases in a short time. Try again in " + N.retryAfter(result, 60) + " s.";
        case 400:
          if (error.code === "invalid") {
            const fields = error.fields || {};
            return "Please check your choice: " + Object.keys(fields).map(function (k) {
              return k + ": " + [].concat(fields[k]).join(" ");
            }).join("; ");
          }
          return "This service is not available: " + (error.message || "please choose another one.");
        case 401:
        case 403:
          return "Your session has ended. Reload the page and log in again.";
        default:
          return error.message || "Something went wrong (HTTP " + result.status + "). Please try again.";
      }
    }

    search.addEventListener("input", filterServices);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { // choose, don't buy: Enter in the search box moves to the list
        event.preventDefault();
        service.focus();
      }
    });
    service.addEventListener("change", update);
    countrySelect.addEventListener("change", update);
    radios.forEach(function (r) {
      r.addEventListener("change", function () {
        wanted = capability();
        update();
      });
    });

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (inFlight) return; // a second click while the first is in flight buys nothing
      const option = chosenService();
      if (!option || button.disabled) return;
      const body = { service: option.value, country: countrySelect.value, capability: capability() };
      const fingerprint = JSON.stringify(body);
      if (!intent || intent.fingerprint !== fingerprint) intent = { fingerprint: fingerprint, key: N.uuid() };
      showError("");
      setBusy(true);
      try {
        const result = await N.api("/verify/create", {
          method: "POST", body: body, headers: { "Idempotency-Key": intent.key },
        });
        if (result.status === 409 && N.errorOf(result).code === "idempotency_in_progress") {
          showError("Your number is still being rented. Press “Create verification” again in a moment: it will not buy twice.");
          return; // keep the key: the retry must replay the same purchase
        }
        // Answered: the next click is a new purchase. (Re-sending this key would only replay
        // this answer, e.g. the failed purchase behind a 503.)
        intent = null;
        if (!result.ok) {
          showError(purchaseError(result), result.status === 402 ? N.errorOf(result).topup_url || "/add-funds" : "");
          return;
        }
        const country = countryOption(result.data.country);
        addCard(Object.assign({
          service_name: option.dataset.name,
          country_label: country ? country.dataset.label : result.data.country,
          dialling_code: country ? country.dataset.dial : "",
          code: null, messages: [], calls: [],
        }, result.data), true);
        N.refreshBalance();
      } catch (err) {
        // No answer: the purchase may or may not have happened. The key is kept, so pressing
        // again replays it instead of buying a second number.
        showError("The connection failed before we heard back. Press “Create verification” again: it will not buy twice.");
      } finally {
        setBusy(false);
      }
    });

    filterServices();
  }

  // --- verification cards ----------------------------------------------------------------------

  function field(card, name) {
    return card.el.querySelector('[data-field="' + name + '"]');
  }

  function button(card, action) {
    return card.el.querySelector('[data-action="' + action + '"]');
  }

  function isVoice(card) {
    return card.v.capability === "voice";
  }

  function secondsLeft(card) {
    return card.v.expires_at ? Math.round((Date.parse(card.v.expires_at) - Date.now()) / 1000) : null;
  }

  function updateEmpty() {
    emptyEl.hidden = cards.size > 0;
  }

  function addCard(v, fresh) {
    if (cards.has(v.id)) { // an idempotent replay returns a verification we already show
      const known = cards.get(v.id);
      if (fresh) known.el.focus();
      return known;
    }
    const el = template.content.firstElementChild.cloneNode(true);
    const card = {
      v: v, el: el, status: v.status, code: v.code || null, messages: v.messages || [], calls: v.calls || [],
      shown: new Map(), busy: false, checking: false, inflight: false, forceNext: false,
      pollTimer: null, ticker: null, expiryChecked: false, removed: false,
    };
    el.dataset.id = v.id;
    el.setAttribute("aria-label", (v.service_name || v.service) + " verification " + (v.phone_number || ""));
    field(card, "service").textContent = v.service_name || v.service;
    field(card, "country").textContent = v.country_label || v.country;
    field(card, "e164").textContent = v.phone_number || "…";
    const country = countryOption(v.country);
    field(card, "national").textContent = N.nationalFormat(v.phone_number, v.dialling_code || (country && country.dataset.dial));
    field(card, "kind").textContent = isVoice(card) ? "Voice call" : "SMS";
    field(card, "price").textContent = N.money(v.price);
    field(card, "messages-box").hidden = isVoice(card);
    field(card, "calls-box").hidden = !isVoice(card);
    field(card, "waiting-text").textContent = isVoice(card) ? "Waiting for the call…" : "Waiting for the SMS…";
    button(card, "check").textContent = isVoice(card) ? "Check calls" : "Check messages";
    el.addEventListener("click", function (event) {
      const target = event.target.closest("button");
      if (!target || !el.contains(target)) return;
      if (target.dataset.copyField) N.copyFrom(target, field(card, target.dataset.copyField).textContent);
      else if (target.dataset.action === "transcribe") transcribeAgain(card, target);
      else if (target.dataset.action) act(card, target.dataset.action);
    });

    cards.set(v.id, card);
    cardsEl.prepend(el);
    render(card);
    tick(card);
    card.ticker = setInterval(function () { tick(card); }, 1000);
    // A fresh card may be an idempotent replay of one that already settled: one poll fills it in.
    if (card.status === "pending" || fresh || processing(card)) poll(card, false);
    updateEmpty();
    if (fresh) el.focus();
    return card;
  }

  /* A voice card's call is delivered once its recording is ours: the sale is complete then. */
  function delivered(card) {
    return Boolean(card.code) || card.status === "completed" ||
      (isVoice(card) && card.calls.some(function (c) { return c.recording_status === "available"; }));
  }

  /* Calls still on their way to a transcript: the card keeps polling until they get there. */
  function processing(card) {
    return isVoice(card) && card.calls.some(function (c) {
      return c.recording_status === "pending" || c.transcription_status === "pending";
    });
  }

  function render(card) {
    const pending = card.status === "pending";
    const status = field(card, "status");
    const called = isVoice(card) && card.calls.length > 0;
    status.textContent = pending && called ? "Call received" : STATUS_LABEL[card.status] || card.status;
    status.className = "status status-" + card.status;
    card.el.classList.toggle("final", !pending);

    field(card, "code-box").hidden = !card.code;
    field(card, "code").textContent = card.code || "";
    // Nothing says "waiting for the call" above a call that arrived.
    field(card, "waiting").hidden = !pending || Boolean(card.code) || called;

    renderItems(card);

    const left = secondsLeft(card);
    const settleable = pending && !delivered(card) && Boolean(card.v.phone_number) && !card.busy;
    // After delivery there is nothing to cancel: the upstream billed the number.
    button(card, "cancel").hidden = delivered(card);
    button(card, "cancel").disabled = !settleable;
    // "Report number" stays after delivery: the upstream decides, and we refund when it accepts.
    const reportable = card.status === "completed" && left !== null && left > 0 && !card.busy;
    button(card, "report").disabled = !(settleable || reportable);
    // A completed number still receives SMS until it expires (a second code is normal).
    const receiving = pending || (card.status === "completed" && left !== null && left > 0);
    button(card, "check").disabled = card.busy || card.checking || !receiving;
    button(card, "check").setAttribute("aria-busy", card.checking ? "true" : "false");
    button(card, "dismiss").hidden = pending;
  }

  function renderItems(card) {
    const voice = isVoice(card);
    const list = field(card, voice ? "calls" : "messages");
    const items = voice ? card.calls : card.messages;
    field(card, voice ? "calls-empty" : "messages-empty").hidden = items.length > 0;
    // Append new items and update calls in place: rebuilding would restart an <audio> that is playing.
    items.forEach(function (item) {
      const shown = card.shown.get(item.id);
      if (shown) {
        if (voice) N.inbox.updateCall(shown, item);
        return;
      }
      const el = voice ? N.inbox.callItem(item) : N.inbox.messageItem(item);
      card.shown.set(item.id, el);
      list.appendChild(el);
    });
  }

  function tick(card) {
    const el = field(card, "countdown");
    const left = secondsLeft(card);
    if (left === null) {
      el.textContent = "Renting the number…";
      return;
    }
    const at = N.localTime(card.v.expires_at, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    if (card.status !== "pending" && card.status !== "completed") {
      el.textContent = STATUS_LABEL[card.status] || card.status;
      clearInterval(card.ticker);
      return;
    }
    if (left <= 0) {
      el.textContent = "Expired at " + at;
      clearInterval(card.ticker);
      render(card);
      // The server expires and refunds it on the next poll: ask at once rather than in 3 s.
      if (card.status === "pending" && !card.expiryChecked) {
        card.expiryChecked = true;
        poll(card, true);
      }
      return;
    }
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    el.textContent = "Expires in " + minutes + ":" + seconds + " (at " + at + ")";
  }

  function showResult(card, text) {
    field(card, "result").textContent = text;
  }

  function showCardError(card, text) {
    const el = field(card, "error");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function apply(card, data) {
    const before = card.status;
    card.status = data.status;
    if (data.expires_at) card.v.expires_at = data.expires_at;
    card.code = data.code || null;
    if (data.messages) card.messages = data.messages;
    if (data.calls) card.calls = data.calls;
    if (before === "pending" && card.status !== "pending") settled(card, null);
    render(card);
  }

  /* A card reached a final state: say what happened to the money and show the new balance. */
  function settled(card, result) {
    clearTimeout(card.pollTimer);
    tick(card);
    if (card.status === "completed") {
      showResult(card, (isVoice(card) ? "Call received" : "Code received") + ". The charge of " +
        N.money(card.v.price) + " stands.");
      return;
    }
    if (result) {
      const verb = card.status === "failed" ? "Reported" : "Cancelled";
      showResult(card, verb + ": " + (result.refunded ? N.money(result.refunded) + " refunded" : "nothing to refund") +
        ". New balance " + N.money(result.balance) + ".");
      N.setBalance(result.balance);
      return;
    }
    const why = { expired: "Expired without a code", failed: "Failed", cancelled: "Cancelled" }[card.status] || card.status;
    showResult(card, why + ": the " + N.money(card.v.price) + " was refunded.");
    N.refreshBalance();
  }

  async function poll(card, force) {
    if (card.removed) return;
    if (card.inflight) { // one request per card at a time; a forced check runs right after
      card.forceNext = card.forceNext || force;
      return;
    }
    card.inflight = true;
    clearTimeout(card.pollTimer);
    let delay = POLL_MS;
    const path = "/verify/" + card.v.id + "/" + (isVoice(card) ? "voice" : "messages") + (force ? "?refresh=1" : "");
    try {
      // The ETag of the answer shown: while nothing changed the server answers 304, with no body.
      const headers = card.etag && !force ? { "If-None-Match": card.etag } : {};
      const result = await N.api(path, { headers: headers });
      if (result.status === 304) {
        showCardError(card, "");
      } else if (result.ok) {
        showCardError(card, "");
        card.etag = result.headers.get("ETag") || null;
        apply(card, result.data);
      } else if (result.status === 429) {
        delay = N.retryAfter(result, 10) * 1000;
        showCardError(card, "Checking too often: paused for " + Math.round(delay / 1000) + " s.");
      } else if (result.status === 404) {
        showCardError(card, "This verification no longer exists.");
        card.status = "failed";
      } else {
        showCardError(card, N.errorOf(result).message || "Could not check for messages (HTTP " + result.status + "); retrying.");
      }
      // A pending answer says when asking again is worth it.
      const after = Number(result.headers && result.headers.get("Retry-After"));
      if ((result.ok || result.status === 304) && after > 0) delay = Math.max(1000, after * 1000);
    } catch (err) {
      showCardError(card, "Network problem while checking; retrying…");
    } finally {
      card.inflight = false;
    }
    if (card.forceNext) {
      card.forceNext = false;
      return poll(card, true);
    }
    if ((card.status === "pending" || processing(card)) && !card.removed) {
      card.pollTimer = setTimeout(function () { poll(card, false); }, document.hidden ? delay * 3 : delay);
    }
  }

  /* "Transcribe again": one more pass on a call's recording (at most three per call). */
  async function transcribeAgain(card, control) {
    control.disabled = true;
    showCardError(card, "");
    try {
      const result = await N.api("/verify/" + card.v.id + "/calls/" + control.dataset.callId + "/transcribe",
        { method: "POST" });
      if (!result.ok) showCardError(card, N.errorOf(result).message || "Could not transcribe again (HTTP " + result.status + ").");
    } catch (err) {
      showCardError(card, "Network problem: try again.");
    }
    poll(card, false);
  }

  async function act(card, action) {
    if (action === "dismiss") return dismiss(card);
    if (action === "check") {
      card.checking = true;
      render(card);
      try {
        await poll(card, true);
      } finally {
        card.checking = false;
        render(card);
      }
      return;
    }
    const number = card.v.phone_number;
    const question = action === "cancel"
      ? "Cancel the number " + number + " and refund " + N.money(card.v.price) + "?"
      : card.status === "completed"
        ? "Report the number " + number + " as not working? If the provider accepts the report, it is refunded (" +
          N.money(card.v.price) + ")."
        : "Report the number " + number + " as not working? It will be refunded (" + N.money(card.v.price) + ").";
    if (!window.confirm(question)) return;
    card.busy = true;
    showCardError(card, "");
    render(card);
    try {
      const result = action === "cancel"
        ? await N.api("/verify/" + card.v.id, { method: "DELETE" })
        : await N.api("/verify/" + card.v.id + "/report", { method: "POST" });
      if (result.ok) {
        card.status = result.data.status;
        settled(card, result.data);
      } else {
        showCardError(card, N.errorOf(result).message || "That did not work (HTTP " + result.status + ").");
        poll(card, false); // the state changed under us (e.g. the code arrived): show it
      }
    } catch (err) {
      showCardError(card, "Network problem: checking whether it went through…");
      poll(card, false);
    } finally {
      card.busy = false;
      render(card);
    }
  }

  /* Remembered by the server (the verification's dismissed_at), so the card stays gone after a
   * reload and on the customer's other devices; the history still lists it. */
  async function dismiss(card) {
    const control = button(card, "dismiss");
    control.disabled = true;
    showCardError(card, "");
    let result = null;
    try {
      result = await N.api("/dashboard/verifications/" + card.v.id + "/dismiss", { method: "POST" });
    } catch (err) {
      result = null;
    }
    if (!result || !(result.ok || result.status === 404)) { // 404: it is gone anyway
      control.disabled = false;
      showCardError(card, result
        ? N.errorOf(result).message || "Could not dismiss the card (HTTP " + result.status + ")."
        : "Network problem: the card was not dismissed. Try again.");
      return;
    }
    card.removed = true;
    clearTimeout(card.pollTimer);
    clearInterval(card.ticker);
    const next = card.el.nextElementSibling || card.el.previousElementSibling;
    card.el.remove();
    cards.delete(card.v.id);
    updateEmpty();
    (next || document.getElementById("active-title")).focus();
  }

  if (form) setUpPurchase();
  JSON.parse(document.getElementById("active-data").textContent || "[]").reverse().forEach(function (v) {
    addCard(v, false);
  });
  updateEmpty();
})();
