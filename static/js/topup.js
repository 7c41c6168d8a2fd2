/* The page Stripe Checkout returns to: "payment received, crediting…" until the credit lands.
 *
 * Stripe tells us about the payment by webhook, separately from sending the customer back, so the
 * top-up may still be pending when this page opens. It reads the top-up (GET /account/topups/{id})
 * until it is paid, then shows the new balance (GET /account) here and in the header.
 */
(function () {
  "use strict";

  const N = window.Namaskah;
  const root = document.getElementById("topup");
  if (!root || !N || root.dataset.status !== "pending") return;

  const message = document.getElementById("topup-message");
  const note = document.getElementById("topup-note");
  const POLL_MS = 1500;
  const GIVE_UP_MS = 10 * 60 * 1000; // a delayed payment method can take days: stop asking, say so
  const started = Date.now();

  function say(text, strong) {
    message.textContent = text;
    if (strong) {
      const el = document.createElement("strong");
      el.className = "mono";
      el.textContent = strong;
      message.append(" ", el, ".");
    }
  }

  async function check() {
    let result = null;
    try {
      result = await N.api(root.dataset.statusUrl);
    } catch (err) {
      result = null; // a network hiccup: ask again on the next round
    }
    const status = result && result.ok ? result.data.status : "pending";
    if (status === "paid") {
      const account = await N.api("/account");
      const balance = account.ok ? account.data.balance : null;
      say("Your top-up of " + N.money(result.data.amount) + " is credited. Your new balance is",
          balance == null ? "updated" : N.money(balance));
      N.setBalance(balance);
      if (note) note.hidden = true;
      return;
    }
    if (status === "expired" || status === "failed") {
      say(status === "expired" ? "This payment was not completed: nothing was charged."
        : "The payment did not go through: nothing was charged.");
      if (note) note.hidden = true;
      return;
    }
    if (Date.now() - started > GIVE_UP_MS) {
      say("Your payment is still being confirmed. Your balance is credited as soon as it is: check back later.");
      return;
    }
    setTimeout(check, POLL_MS);
  }

  check();
})();
