"""Where call recordings are kept: the filesystem under MEDIA_ROOT by default, S3-compatible storage
through django-storages by configuration (each checked in a fresh interpreter, as a process starts)."""
import json

from namaskah.tests.test_settings import refusal, start

PROBE = (
    "import json, django; django.setup()\n"
    "from django.core.files.storage import storages\n"
    "s = storages['default']\n"
    "from django.conf import settings\n"
    "out = {'backend': type(s).__name__,\n"
    "       'media_root': settings.MEDIA_ROOT, 'max': settings.RECORDING_MAX_BYTES,\n"
    "       'retention': settings.RECORDING_RETENTION_DAYS}\n"
    "if out['backend'] == 'S3Storage':\n"
    "    out.update(bucket=s.bucket_name, location=s.location, acl=s.default_acl,\n"
    "               url=s.url('recordings/x/1.ogg'))\n"
    "print(json.dumps(out))\n"
)


def probe(env: dict) -> dict:
    result = start(env, PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_recordings_go_to_the_filesystem_under_media_root_by_default(tmp_path):
    defaults = probe({})
    assert defaults["backend"] == "FileSystemStorage" and defaults["media_root"].endswith("/media")
    assert (defaults["max"], defaults["retention"]) == (10 * 1024 * 1024, 30)
    assert probe({"MEDIA_ROOT": str(tmp_path)})["media_root"] == str(tmp_path)


def test_an_s3_compatible_bucket_by_configuration():
    s3 = probe({"RECORDING_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "namaskah-recordings",
                "AWS_S3_ENDPOINT_URL": "https://minio.example:9000", "AWS_S3_REGION_NAME": "us-east-1",
                "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example"})
    assert (s3["backend"], s3["bucket"], s3["location"], s3["acl"]) == (
        "S3Storage", "namaskah-recordings", "recordings", "private")
    # Objects are private: a URL to one is signed (made locally, no request sent).
    assert s3["url"].startswith("https://minio.example:9000/namaskah-recordings/recordings/recordings/x/1.ogg?")
    assert "Signature=" in s3["url"] or "X-Amz-Signature=" in s3["url"]


def test_s3_without_a_bucket_is_refused():
    assert refusal({"RECORDING_STORAGE": "s3"}) == (
        "namaskah: configuration error: AWS_STORAGE_BUCKET_NAME must be set when RECORDING_STORAGE=s3")
