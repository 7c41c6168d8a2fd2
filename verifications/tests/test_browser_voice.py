"""The voice card in Chromium, through its states, with real Celery workers and the fake TextVerified:
waiting for the call → call received, recording not fetched yet → transcribing… → the code, big,
with Copy; the player plays our copy of the recording; no "Waiting for the call…" above the call,
no "Cancel & refund" after delivery. An uncertain call says so and shows the guess.

The tasks run in embedded workers (celery.contrib.testing) on the configured broker, one per queue,
started when the test wants the next state: the states the customer sees between the tasks are real.
"""
import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

import re  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.utils import timezone  # noqa: E402

from providers import simulation  # noqa: E402

from verifications.models import PricingSettings, Verification, VoiceCall  # noqa: E402
from verifications.tests.lifecycle import fake_textverified, make_shop  # noqa: E402
from verifications.tests.test_browser import CHROMIUM, CHROMIUM_ARGS, customer, field, log_in, shoot  # noqa: E402
from voice.tests.conftest import needs_speech  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium"),
]
WAIT = 20_000  # ms


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A test plays the recording without a click on the player.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    yield page
    context.close()


@pytest.fixture
def queued_tasks():
    """Tasks go to an in-memory broker instead of running in the caller; `worker(queue)` serves one queue."""
    from celery.contrib.testing.worker import start_worker

    from namaskah.celery import app

    # The configured broker (the filesystem one in development, Redis with REDIS_URL), emptied first.
    app.conf.update(task_always_eager=False)
    app.control.purge()
    started = []

    @contextmanager
    def worker(queue: str):
        with start_worker(app, queues=[queue], perform_ping_check=False, shutdown_timeout=60) as w:
            started.append(w)
            yield w

    yield worker
    app.control.purge()
    app.conf.update(task_always_eager=True)


@pytest.fixture
def shop(transactional_db, settings):
    settings.MESSAGE_REFRESH_INTERVAL = 1
    shop = make_shop()
    PricingSettings.objects.update_or_create(pk=1, defaults={"voice_premium": Decimal("2.00")})  # above $2.50
    return shop


@needs_speech
def test_the_voice_card_goes_through_its_states_and_plays_the_recording(shop, page, settings, queued_tasks):
    from playwright.sync_api import expect

    settings.TEXTVERIFIED_BACKOFF_FACTOR = settings.TEXTVERIFIED_BACKOFF_JITTER = 0
    with fake_textverified(settings, sms_delay=None) as fake:
        user = customer("vera@example.com", "10.00")
        log_in(page, user.email)
        page.get_by_label("Find a service").fill("tele")
        page.get_by_label("Country").select_option("US")
        page.get_by_label("Voice call").check()
        expect(page.locator("#price")).to_have_text("$3.00")
        page.get_by_role("button", name="Create verification").click()
        card = page.locator(".card").first
        expect(field(card, "waiting-text")).to_have_text("Waiting for the call…")
        expect(field(card, "waiting")).to_be_visible()
        expect(card.get_by_role("button", name="Cancel & refund")).to_be_enabled()
        verification = Verification.objects.get(user=user)

        # The call arrives; no worker yet, so its recording is not ours yet.
        fake.fake.deliver_call(verification.provider_ref, recording="call-01.ogg")
        card.get_by_role("button", name="Check calls").click()  # asks the upstream now (no check worker here)
        call = card.locator('[data-field="calls"] li').first
        expect(call.locator(".call-state")).to_contain_text("recording not available yet", timeout=WAIT)
        expect(field(card, "status")).to_have_text("Call received")
        expect(field(card, "waiting")).to_be_hidden()
        expect(call.locator("audio")).to_have_count(0)
        shoot(page, "voice-1-call-received")

        with queued_tasks("default"):  # downloads: the recording becomes ours, the sale completes
            expect(call.locator(".call-state")).to_have_text("Call received, transcribing…", timeout=WAIT)
            expect(field(card, "status")).to_have_text("Code received")
            expect(card.get_by_role("button", name="Cancel & refund")).to_be_hidden()
            expect(card.get_by_role("button", name="Report number")).to_be_visible()
            audio = call.locator("audio")
            expect(audio).to_have_attribute("src", re.compile(rf"^/verify/{verification.pk}/calls/\d+/recording$"))
            shoot(page, "voice-2-transcribing")

        # One test worker at a time: two in one process share Celery's worker state, and with the
        # Redis broker the inner one then never finishes stopping.
        with queued_tasks("voice"):  # the transcription, on its own queue
            expect(field(card, "code")).to_have_text("381504", timeout=WAIT)
        expect(field(card, "code-box")).to_be_visible()
        expect(call.locator(".call-state")).to_have_text("Code heard: 381504")
        expect(call.locator(".transcription")).to_be_visible()
        card.get_by_role("button", name="Copy the code").click()
        assert page.evaluate("navigator.clipboard.readText()") == "381504"

        # The player plays our copy (Range requests and all) under the page's CSP.
        played = audio.evaluate("""el => el.play().then(() => new Promise(done => {
            const started = performance.now();
            (function wait() {
                if (el.currentTime > 0.5 || performance.now() - started > 8000) done([el.currentTime, el.duration]);
                else setTimeout(wait, 100);
            })();
        }))""")
        assert played[0] > 0.5 and 13 < played[1] < 15, played  # call-01.ogg lasts 13.65 s
        shoot(page, "voice-3-code")
        stored = VoiceCall.objects.get(verification=verification)
        assert stored.recording_state == VoiceCall.Recording.STORED and stored.code_confidence == "confident"
        verification.refresh_from_db()
        assert verification.status == Verification.Status.COMPLETED
        assert page.problems == []


def test_an_uncertain_call_says_so_and_shows_the_guess(shop, page):
    from playwright.sync_api import expect

    from verifications import services

    user = customer("ursula@example.com", "10.00")
    verification, _ = services.purchase(user=user, service=shop["telegram"], country=shop["gb"], capability="voice")
    Verification.objects.filter(pk=verification.pk).update(status="completed", completed_at=timezone.now())
    VoiceCall.objects.create(verification=verification, provider="mock", provider_call_id="u1", caller="+18005550100",
                             recording_state=VoiceCall.Recording.UNAVAILABLE, transcription_state="done",
                             transcription="Your code is 4 8 2 9 or 7", code="4829", code_confidence="uncertain",
                             transcribed_at=timezone.now(), delivered_at=timezone.now(), received_at=timezone.now())
    log_in(page, user.email)
    card = page.locator(".card").first
    call = card.locator('[data-field="calls"] li').first
    expect(call.locator(".call-state")).to_have_text("Call received · the recording could not be fetched.")
    audio = (simulation.RECORDINGS_DIR / "call-03.wav").read_bytes()
    name = default_storage.save(f"recordings/{verification.pk}/u1.wav", ContentFile(audio))
    VoiceCall.objects.filter(verification=verification).update(
        recording_state=VoiceCall.Recording.STORED, recording=name, recording_content_type="audio/wav",
        recording_size=len(audio))
    page.reload()
    call = page.locator(".card").first.locator('[data-field="calls"] li').first
    expect(call.locator(".call-state")).to_have_text("We're not sure — listen to the recording.")
    expect(call.locator(".call-guess")).to_have_text("Our best guess: 4829")
    expect(field(page.locator(".card").first, "code-box")).to_be_hidden()  # a guess is not the code
    expect(call.get_by_role("button", name="Transcribe again")).to_be_visible()
    assert page.problems == []
