/* The dashboard cards' inbox: how one SMS or one call is drawn (static/js/dashboard.js appends them).
 *
 * SMS text, senders and transcriptions are written by strangers: they are only ever set with
 * textContent; links in an SMS become <a> elements whose href is an http(s) URL taken from the
 * text, and a recording plays only from our own recording endpoint.
 */
(function () {
  "use strict";

  const N = window.Namaskah;
  if (!N) return;

  const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
  const OWN_RECORDING = /^\/verify\/[0-9a-f-]{36}\/calls\/\d+\/recording$/i;

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text != null) el.textContent = text; // text only, never HTML: strangers write these
    return el;
  }

  function timeElement(iso) {
    const el = element("time", "muted small", N.localTime(iso));
    el.setAttribute("datetime", iso);
    return el;
  }

  /* The whole text, with its links clickable: text nodes around <a> elements. */
  function linkedText(text) {
    const p = element("p", "sms-text");
    let last = 0;
    String(text || "").replace(LINK, function (url, at) {
      const clean = url.replace(/[.,;:!?)]+$/, ""); // the sentence's punctuation is not part of the link
      p.appendChild(document.createTextNode(text.slice(last, at)));
      const a = element("a", "sms-link", clean);
      a.href = clean;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      p.appendChild(a);
      last = at + clean.length;
      return url;
    });
    p.appendChild(document.createTextNode(String(text || "").slice(last)));
    return p;
  }

  function messageItem(message) {
    const li = element("li", "item");
    const head = element("div", "item-head");
    head.appendChild(timeElement(message.received_at));
    head.appendChild(element("span", "sender", message.sender ? "from " + message.sender : ""));
    li.appendChild(head);
    li.appendChild(linkedText(message.text));
    return li;
  }

  function callItem(call) {
    const li = element("li", "item call");
    li.dataset.callId = call.id;
    const head = element("div", "item-head");
    head.appendChild(timeElement(call.received_at));
    head.appendChild(element("span", "sender", "from " + (call.caller || "unknown caller") +
      (call.duration ? " · " + call.duration + " s" : "")));
    li.appendChild(head);
    li.appendChild(element("p", "call-state", ""));
    const guess = element("p", "call-guess", "");
    guess.hidden = true;
    li.appendChild(guess);
    const label = element("p", "transcription-label muted small", "Transcription");
    label.hidden = true;
    li.appendChild(label);
    const text = element("p", "sms-text transcription", "");
    text.hidden = true;
    li.appendChild(text);
    const again = element("button", "button secondary small", "Transcribe again");
    again.type = "button";
    again.dataset.action = "transcribe";
    again.dataset.callId = call.id;
    again.hidden = true;
    li.appendChild(again);
    updateCall(li, call);
    return li;
  }

  /* Fill a call's item in place: its <audio> is created once and never rebuilt (it may be playing). */
  function updateCall(li, call) {
    let audio = li.querySelector("audio");
    if (!audio && OWN_RECORDING.test(call.recording_url || "")) {
      audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "metadata";
      audio.src = call.recording_url;
      audio.setAttribute("aria-label", "Recording of the call from " + (call.caller || "an unknown caller"));
      li.insertBefore(audio, li.querySelector(".call-state"));
    }
    const state = li.querySelector(".call-state");
    const guess = li.querySelector(".call-guess");
    guess.hidden = true;
    state.textContent = callState(call);
    state.className = "call-state" + (call.code_confidence === "confident" ? "" : " warning");
    if (call.transcription_status === "done" && call.code_confidence === "uncertain" && call.code) {
      guess.textContent = "Our best guess: " + call.code;
      guess.hidden = false;
    }
    const text = li.querySelector(".transcription");
    text.textContent = call.transcription || "";
    text.hidden = !call.transcription;
    li.querySelector(".transcription-label").hidden = !call.transcription;
    const again = li.querySelector('[data-action="transcribe"]');
    again.hidden = call.recording_status !== "available" || !(call.transcribe_again_left > 0);
    again.disabled = call.transcription_status === "pending";
    again.title = call.transcribe_again_left + " left";
  }

  function callState(call) {
    if (call.recording_status === "pending") return "Call received · recording not available yet (we keep trying)…";
    if (call.recording_status === "unavailable") return "Call received · the recording could not be fetched.";
    if (call.recording_status === "deleted") return "The recording was deleted after the retention period.";
    if (call.transcription_status === "pending") return "Call received, transcribing…";
    if (call.transcription_status === "unavailable") return "Transcription unavailable — listen to the recording.";
    if (call.code_confidence === "confident") return "Code heard: " + call.code;
    if (call.code_confidence === "uncertain") return "We're not sure — listen to the recording.";
    return "No code heard — listen to the recording.";
  }

  N.inbox = { messageItem: messageItem, callItem: callItem, updateCall: updateCall };
})();
