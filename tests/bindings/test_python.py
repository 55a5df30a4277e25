"""The Python binding against the real shared library and a real SQLite file."""

import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))
import livegate  # noqa: E402


class BindingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.store = livegate.Store(os.path.join(self.dir.name, "livegate.db"))

    def tearDown(self):
        self.store.close()
        self.dir.cleanup()

    def test_version(self):
        self.assertRegex(livegate.version(), r"^\d+\.\d+\.\d+$")

    def test_entries_round_trip_through_sqlite(self):
        e = self.store.create_entry("studio a")
        self.assertRegex(e["entryId"], r"^1_[a-z0-9]{8}$")
        self.assertRegex(e["token"], r"^[a-z2-7]{26}$")
        self.assertEqual(self.store.get_entry(e["entryId"])["name"], "studio a")
        again = self.store.regenerate_token(e["entryId"])
        self.assertNotEqual(again["token"], e["token"])
        self.assertEqual(again["tokenGeneration"], e["tokenGeneration"] + 1)
        # A second handle on the same file sees the change: another process would.
        with livegate.Store(os.path.join(self.dir.name, "livegate.db")) as other:
            self.assertEqual(other.get_entry(e["entryId"])["token"], again["token"])
        self.assertEqual([x["entryId"] for x in self.store.list_entries()], [e["entryId"]])
        self.store.delete_entry(e["entryId"])
        with self.assertRaises(livegate.Error) as ctx:
            self.store.get_entry(e["entryId"])
        self.assertEqual(ctx.exception.status, -2)  # LG_E_NOT_FOUND

    def test_urls_build_and_parse_back(self):
        e = self.store.create_entry()
        for host in ("publish.example.com", "127.0.0.1", "localhost"):
            for role in (livegate.PRIMARY, livegate.BACKUP):
                ep = livegate.build_url(host, e["entryId"], e["token"], role=role, stream_name="2")
                self.assertIn(e["token"], ep["url"])
                for parsed in (livegate.parse_url(ep["url"], ep["streamName"]),
                               livegate.parse_url(ep["ffmpeg"])):
                    self.assertEqual(parsed["entryId"], e["entryId"])
                    self.assertEqual(parsed["token"], e["token"])
                    self.assertEqual(parsed["streamName"], "2")
                    self.assertEqual(parsed["role"], "backup" if role else "primary")
                    self.assertEqual(parsed["host"], host)

    def test_srt_urls_and_passphrase(self):
        e = self.store.create_entry()
        self.assertIsNone(e["srtPassphrase"])
        ep = livegate.build_url("publish.example.com", e["entryId"], e["token"],
                                role=livegate.BACKUP, scheme=livegate.SRT)
        self.assertEqual(ep["url"], f"srt://{e['entryId']}.b.publish.example.com:9000")
        self.assertEqual(ep["streamName"],
                         f"#!::r={e['entryId']}.b/1,m=publish,livegate_token={e['token']}")
        for parsed in (livegate.parse_url(ep["url"], ep["streamName"]),
                       livegate.parse_url(ep["ffmpeg"]),
                       livegate.parse_url(ep["url"] + "?streamid=" + ep["streamName"])):
            self.assertEqual(parsed["scheme"], "srt")
            self.assertEqual(parsed["entryId"], e["entryId"])
            self.assertEqual(parsed["role"], "backup")
            self.assertEqual(parsed["token"], e["token"])
        updated = self.store.set_srt_passphrase(e["entryId"], "0123456789abc")
        self.assertEqual(updated["srtPassphrase"], "0123456789abc")
        self.assertEqual(self.store.get_entry(e["entryId"])["srtPassphrase"], "0123456789abc")
        with self.assertRaises(livegate.Error) as ctx:
            self.store.set_srt_passphrase(e["entryId"], "short")
        self.assertEqual(ctx.exception.status, -1)  # LG_E_INVALID_ARG
        self.assertIn("10 to 79", str(ctx.exception))
        self.assertIsNone(self.store.set_srt_passphrase(e["entryId"], None)["srtPassphrase"])

    def test_malformed_url_gives_a_precise_error(self):
        with self.assertRaises(livegate.Error) as ctx:
            livegate.parse_url("http://example.com/x")
        self.assertEqual(ctx.exception.status, -11)  # LG_E_URL
        self.assertTrue(re.search(r"scheme|rtmp", str(ctx.exception)), str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
