"""Synthetic verification calls spoken by Debian's TTS voices (flite, festival, espeak-ng).

Each call is one IVR-like script (a phrasing, a 4/6/8-digit code said twice, filler around it)
spoken by one engine and voice, kept in three conditions:
  clean      the engine's output, 16 kHz mono 16-bit WAV
  telephone  what a phone line delivers: band-limited to 300-3400 Hz, line noise (hiss and hum) at
             20-30 dB SNR, a random level, resampled to 8 kHz and µ-law encoded (a WAV, as many
             IVR recordings are)
  noisy      the same through a bad line: 10-20 dB SNR
Everything random (codes, phrasing, voice, speed, noise, silence) comes from one seed, so a set can
be regenerated exactly and a tuning set and a held-out set never share a call.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ENGINES = ("flite", "festival", "espeak-ng")
TOOLS = {"flite": "flite", "festival": "text2wave", "espeak-ng": "espeak-ng", "sox": "sox"}
FLITE_VOICES = ("slt", "rms", "awb", "kal16")
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en-us+m4")
SERVICES = ("WhatsApp", "Telegram", "Google", "Microsoft", "Uber", "Discord", "Amazon", "PayPal")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# {code} is replaced by the code in one of the spoken forms below; {service} by a service name.
PHRASINGS = (
    "Your {service} verification code is {code}. Again, your code is {code}.",
    "Hello. This is your verification code: {code}. I repeat: {code}.",
    "Your {service} code is {code}. {code}. Goodbye.",
    "Welcome to {service}. Your one time passcode is {code}. Once again, that is {code}. Thank you.",
    "Please do not share this code with anyone. Your code is {code}. To hear it again, press 1. "
    "Your code is {code}.",
    "This is an automated call from {service}. Your security code is {code}. Repeat, {code}. "
    "If you did not request this code, call 1 800 555 0199.",
    "Your code is. {code}. Your code is. {code}.",
    "Hi! Here is your login code for {service}: {code}. Once more: {code}. Have a nice day.",
)


@dataclass(frozen=True)
class Call:
    id: str
    engine: str
    voice: str
    code: str
    phrasing: int
    script: str
    clean: str
    telephone: str
    noisy: str
    seconds: float


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS.values() if shutil.which(tool) is None]


def spoken(code: str, rng: random.Random) -> str:
    """A code as an IVR reads it: digit by digit, as numerals, words, or with pauses."""
    style = rng.choice(("numerals", "words", "pauses", "words-commas"))
    if style == "numerals":
        return " ".join(code)
    if style == "words":
        return " ".join(WORDS[int(d)] for d in code)
    if style == "pauses":
        return ". ".join(code)
    return ", ".join(WORDS[int(d)] for d in code)


def script_for(code: str, rng: random.Random) -> tuple[int, str]:
    index = rng.randrange(len(PHRASINGS))
    form = spoken(code, rng)
    return index, PHRASINGS[index].format(code=form, service=rng.choice(SERVICES))


def speak(engine: str, voice: str, text: str, out: Path, rng: random.Random) -> None:
    """Run one TTS engine into a WAV file (its native rate; sox resamples later)."""
    if engine == "flite":
        command = ["flite", "-voice", voice, "--setf", f"duration_stretch={rng.uniform(0.95, 1.25):.2f}",
                   "-t", text, "-o", str(out)]
        subprocess.run(command, check=True, capture_output=True)
    elif engine == "festival":
        stretch = rng.uniform(1.0, 1.3)
        command = ["text2wave", "-o", str(out), "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.2f})"]
        subprocess.run(command, input=text.encode(), check=True, capture_output=True)
    elif engine == "espeak-ng":
        command = ["espeak-ng", "-v", voice, "-s", str(rng.randint(135, 175)), "-w", str(out), text]
        subprocess.run(command, check=True, capture_output=True)
    else:
        raise ValueError(f"unknown engine {engine!r}")


def voices_for(engine: str) -> tuple[str, ...]:
    return {"flite": FLITE_VOICES, "festival": ("kal_diphone",), "espeak-ng": ESPEAK_VOICES}[engine]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        assert f.getsampwidth() == 2 and f.getnchannels() == 1, path
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768
        return samples, f.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())


def pad(samples: np.ndarray, rate: int, rng: random.Random) -> np.ndarray:
    # Calls start after the pick-up and end with the hang-up: silence the decoder must not fill.
    before = np.zeros(int(rate * rng.uniform(0.3, 1.5)), dtype=np.float32)
    after = np.zeros(int(rate * rng.uniform(0.3, 1.0)), dtype=np.float32)
    return np.concatenate([before, samples, after])


CONDITIONS = {"telephone": (20, 30), "noisy": (10, 20)}


def telephone_band(clean: Path, out: Path, rng: random.Random, scratch: Path, snr: tuple[float, float] = (20, 30)) -> None:
    """Band-limit and resample with sox, add seeded noise in numpy, µ-law encode with sox."""
    band = scratch / f"{out.stem}.band.wav"
    subprocess.run(["sox", str(clean), "-r", "8000", "-b", "16", str(band), "sinc", "300-3400", "gain", "-n", "-3"],
                   check=True, capture_output=True)
    speech, rate = read_wav(band)
    level = 10 ** (rng.uniform(-9, 0) / 20)
    speech = speech * level
    signal_power = float(np.mean(speech[np.abs(speech) > 0.01 * level] ** 2)) if np.any(speech) else 1e-6
    snr_db = rng.uniform(*snr)
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    noise = noise_rng.normal(0, 1, speech.shape).astype(np.float32)
    # A little hum and a low-passed hiss: line noise is not white.
    noise = np.convolve(noise, np.ones(3) / 3, mode="same")
    noise *= np.sqrt(signal_power / (10 ** (snr_db / 10)) / max(float(np.mean(noise**2)), 1e-12))
    hum = 0.3 * np.sqrt(signal_power) * 10 ** (-snr_db / 20) * np.sin(2 * np.pi * 60 * np.arange(len(speech)) / rate)
    noisy = scratch / f"{out.stem}.noisy.wav"
    write_wav(noisy, speech + noise + hum.astype(np.float32), rate)
    subprocess.run(["sox", str(noisy), "-e", "u-law", "-b", "8", "-r", "8000", str(out)], check=True, capture_output=True)
    band.unlink()
    noisy.unlink()


def make_calls(*, seed: int, per_engine: int, out_dir: Path, engines: tuple[str, ...] = ENGINES) -> list[Call]:
    """Synthesise per_engine calls for each engine; 4, 6 and 8 digit codes in turn."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    calls = []
    for engine in engines:
        for n in range(per_engine):
            length = (4, 6, 8)[n % 3]
            code = "".join(rng.choice("0123456789") for _ in range(length))
            voice = rng.choice(voices_for(engine))
            phrasing, script = script_for(code, rng)
            call_id = f"s{seed}-{engine}-{n:03d}"
            raw = out_dir / f"{call_id}.raw.wav"
            speak(engine, voice, script, raw, rng)
            resampled = out_dir / f"{call_id}.rs.wav"
            subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(resampled)],
                           check=True, capture_output=True)
            samples, rate = read_wav(resampled)
            samples = pad(samples, rate, rng)
            clean = out_dir / f"{call_id}.clean.wav"
            write_wav(clean, samples, rate)
            raw.unlink()
            resampled.unlink()
            lines = {}
            for condition, snr in CONDITIONS.items():
                lines[condition] = out_dir / f"{call_id}.{condition}.wav"
                telephone_band(clean, lines[condition], rng, out_dir, snr)
            calls.append(Call(id=call_id, engine=engine, voice=voice, code=code, phrasing=phrasing, script=script,
                              clean=str(clean), telephone=str(lines["telephone"]), noisy=str(lines["noisy"]),
                              seconds=round(len(samples) / rate, 2)))
    return calls


def as_dict(call: Call) -> dict:
    return asdict(call)
