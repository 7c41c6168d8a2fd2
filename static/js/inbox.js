/* The dashboard cards' inbox: how one SMS or one call is drawn (static/js/dashboard.js appends them).
 *
 * SMS text, senders and transcriptions are written by strangers: they are only ever set with
 * textContent, and a recording plays only from an http(s) URL.
 */
(function () {
  "use strict";

  const N = window.Namaskah;
  if (!N) return;

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

  function messageItem(message) {
    const li = element("li", "item");
    const head = element("div", "item-head");
    head.appendChild(timeElement(message.received_at));
    head.appendChild(element("span", "sender", message.sender ? "from " + message.sender : ""));
    li.appendChild(head);
    li.appendChild(element("p", "sms-text", message.text));
    return li;
  }

  function callItem(call) {
    const li = element("li", "item");
    const head = element("div", "item-head");
    head.appendChild(timeElement(call.received_at));
    head.appendChild(element("span", "sender", "from " + (call.caller || "unknown caller") +
      (call.duration ? " · " + call.duration + " s" : "")));
    li.appendChild(head);
    if (/^https?:\/\//i.test(call.recording_url || "")) {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = call.recording_url;
      audio.setAttribute("aria-label", "Recording of the call from " + (call.caller || "an unknown caller"));
      li.appendChild(audio);
    }
    if (call.transcription) {
      li.appendChild(element("p", "transcription-label muted small", "Transcription"));
      li.appendChild(element("p", "sms-text", call.transcription));
    }
    return li;
  }

  N.inbox = { messageItem: messageItem, callItem: callItem };
})();
