using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;

namespace AaLogon.Tests
{
    /// <summary>
    /// SMARTPHONE:1 (approved, rejected, timed out, cancelled, offline code), VOICE:1, SECQUEST:1,
    /// EMERG_PASSWORD:1, RADIUS:1 with its Access-Challenge, a PASSWORD:1 → SMARTPHONE:1 chain
    /// chosen with NextMethods, and CARD:1 / FINGER:1 through AnswerJson. The demo fixture's
    /// "approver" and "rejecter" phones decide at the first poll; denis's never does. Waits end by
    /// events (the prompt), not by time.
    /// </summary>
    internal sealed class MethodTests
    {
        private const string UserPhoneApproves = "JAGUAR\\approver";
        private const string UserPhoneApprovesPassword = "approve-me";
        private const string UserPhoneRejects = "JAGUAR\\rejecter";
        private const string EventRemoteAccess = "Remote Access";
        private const string FingerprintIso =
            "Rk1SACAyMAAQERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
        private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(20);

        [Test]
        public void APushApprovedOnThePhoneLogsOn()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(UserPhoneApproves, Simulator.Event, "SMARTPHONE:1"))
            {
                var prompts = new List<Prompt>();
                Assert.Equal(LogonStatus.Ok, logon.WaitForApproval(Generous, FastPoll, prompts.Add), "verdict");
                Assert.NotEmpty(logon.LoginSessionId, "login session id");
                Assert.True(prompts.SequenceEqual(new[] { Prompt.ApproveOnPhone }), "told once: " + string.Join(",", prompts));
            }
        }

        [Test]
        public void ARejectedPushIsLogonStopped()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(UserPhoneRejects, Simulator.Event, "SMARTPHONE:1"))
            {
                var stopped = Assert.Throws<LogonStoppedException>(() => logon.WaitForApproval(Generous, FastPoll),
                    "rejected push");
                Assert.Equal("AUTH_REJECTED", stopped.Reason, "reason");
                Assert.Equal(LogonStatus.Stop, logon.Status, "status");
                Assert.Equal("Auth rejected", logon.Message, "message");
            }
        }

        [Test]
        public void NoApprovalInTimeIsARequestTimeoutAndTheLogonLivesOn()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "SMARTPHONE:1"))
            {
                Assert.Throws<RequestTimeoutException>(
                    () => logon.WaitForApproval(TimeSpan.FromMilliseconds(100), FastPoll), "no approval");
                Assert.Equal(LogonStatus.MoreData, logon.Status, "still waiting");
                logon.Abort();
            }
        }

        [Test]
        public void ACancellationTokenEndsTheWaitFromAnotherThread()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var source = new CancellationTokenSource())
            using (var prompted = new ManualResetEventSlim(false))
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "SMARTPHONE:1"))
            {
                var canceller = new Thread(() =>
                {
                    if (prompted.Wait(Generous))
                    {
                        source.Cancel();
                    }
                });
                canceller.Start();
                try
                {
                    Assert.Throws<CancelledException>(
                        () => logon.WaitForApproval(Generous, FastPoll, p => prompted.Set(), source.Token), "cancelled wait");
                }
                finally
                {
                    prompted.Set();
                    canceller.Join();
                }
                Assert.True(source.IsCancellationRequested, "cancelled by the token");
                Assert.Equal(LogonStatus.MoreData, logon.Status, "the logon stays usable");
                // Cancel() before the call cancels that call once.
                logon.Cancel();
                Assert.Throws<CancelledException>(() => logon.WaitForApproval(Generous, FastPoll), "cancelled before");
                Assert.Throws<RequestTimeoutException>(
                    () => logon.WaitForApproval(TimeSpan.FromMilliseconds(100), FastPoll), "runs again afterwards");
                logon.Abort();
            }
        }

        [Test]
        public void AThrowingPromptCancelsTheWaitAndIsRethrown()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "VOICE:1"))
            {
                Assert.Throws<InvalidOperationException>(() => logon.WaitForApproval(Generous, FastPoll,
                    p => { throw new InvalidOperationException("the user closed the dialog"); }), "prompt threw");
                logon.Abort();
            }
        }

        [Test]
        public void AVoiceCallAnsweredLogsOnAndOtherMethodsAreNotWaitedFor()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                using (var logon = client.StartLogon(UserPhoneApproves, Simulator.Event, "VOICE:1"))
                {
                    var prompts = new List<Prompt>();
                    Assert.Equal(LogonStatus.Ok, logon.WaitForApproval(Generous, FastPoll, prompts.Add), "verdict");
                    Assert.True(prompts.SequenceEqual(new[] { Prompt.AnswerCall }), "told: " + string.Join(",", prompts));
                }
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
                {
                    var misuse = Assert.Throws<MisuseException>(() => logon.WaitForApproval(Generous, FastPoll), "password");
                    Assert.Equal(AaStatus.InvalidState, misuse.Status, "status");
                    Assert.Throws<MisuseException>(() => logon.AnswerOfflineTotp("123456"), "offline code for a password");
                    Assert.Throws<MisuseException>(() => logon.GetQuestions(), "questions of a password");
                }
            }
        }

        [Test]
        public void TheSmartphoneOfflineCode()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "SMARTPHONE:1"))
            {
                Assert.Equal(LogonStatus.Ok, logon.AnswerOfflineTotp(SmartphoneOfflineCode()), "verdict");
            }
        }

        [Test]
        public void SecurityQuestionsThenAllAnswersInOneCall()
        {
            var answers = new Dictionary<string, string> { { "6", "blue" }, { "7", "Ada Lovelace" }, { "9", "Jaguar Bay" } };
            using (AaClient client = Simulator.Current.NewClient())
            {
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "SECQUEST:1"))
                {
                    IReadOnlyDictionary<string, string> questions = logon.GetQuestions();
                    Assert.Equal(3, questions.Count, "questions");
                    Assert.Equal("What hue are your shoes?", questions["6"], "question 6");
                    var partial = new Dictionary<string, string> { { "6", "blue" } };
                    var misuse = Assert.Throws<MisuseException>(() => logon.AnswerQuestions(partial), "one answer of three");
                    Assert.Equal(AaStatus.InvalidArgument, misuse.Status, "status");
                    Assert.Equal(LogonStatus.Ok, logon.AnswerQuestions(answers), "verdict");
                }
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "SECQUEST:1"))
                {
                    var wrong = new Dictionary<string, string>(answers) { ["7"] = "Grace \"Amazing\" Hopper\\\n" };
                    var failed = Assert.Throws<LogonFailedException>(() => logon.AnswerQuestions(wrong), "a wrong answer");
                    Assert.Equal("SECQUEST_WRONG_ANSWERS", failed.Reason, "reason");
                }
            }
        }

        [Test]
        public void EmergencyPasswordAndRadiusWithItsChallenge()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "EMERG_PASSWORD:1"))
                {
                    Assert.Equal(LogonStatus.Ok, logon.Answer("in-case-of-fire"), "emergency password");
                }
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "RADIUS:1"))
                {
                    Assert.Equal(LogonStatus.MoreData, logon.Answer("radius-novell"), "the Access-Challenge is no verdict");
                    Assert.Equal("Enter the code shown on your token", logon.Message, "its prompt");
                    Assert.Equal(LogonStatus.Ok, logon.Answer("424242"), "the challenge answered");
                }
            }
        }

        [Test]
        public void APasswordThenSmartphoneChainWithNextMethods()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(UserPhoneApproves, EventRemoteAccess, "PASSWORD:1"))
            {
                Assert.Equal(0, logon.NextMethods.Count, "nothing next before NEXT");
                Assert.Equal(LogonStatus.Next, logon.Answer(UserPhoneApprovesPassword), "password step");
                Assert.True(logon.NextMethods.SequenceEqual(new[] { "SMARTPHONE:1", "VOICE:1" }),
                    "next methods: " + string.Join(",", logon.NextMethods));
                logon.Next(logon.NextMethods[0]);
                Assert.Equal(LogonStatus.Ok, logon.WaitForApproval(Generous, FastPoll), "smartphone step");
                Assert.True(logon.CompletedMethods.SequenceEqual(new[] { "PASSWORD:1", "SMARTPHONE:1" }), "completed");
            }
        }

        [Test]
        public void CardAndFingerprintThroughAnswerJson()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "CARD:1"))
                {
                    var misuse = Assert.Throws<MisuseException>(() => logon.AnswerJson("[\"04a1b2c3d4e5f6\"]"), "no object");
                    Assert.Equal(AaStatus.InvalidArgument, misuse.Status, "status");
                    Assert.Equal(LogonStatus.Ok, logon.AnswerJson("{\"card_uid\": \"04a1b2c3d4e5f6\", \"card_cert\": \"\"}"),
                        "card");
                }
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "FINGER:1"))
                {
                    string capture = "{\"capture\": {\"ISO\": \"" + FingerprintIso + "\", \"captureStatus\": \"OK\"}}";
                    Assert.Equal(LogonStatus.Ok, logon.AnswerJson(capture), "fingerprint");
                    Assert.True(logon.ResponseJson.Contains("\"score\":45"), "the score: " + logon.ResponseJson);
                }
            }
        }

        /// <summary>
        /// The code denis's smartphone app shows offline now: RFC 6238 (HMAC-SHA-1, 30 s, 6 digits)
        /// with the demo secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ, the base32 of "12345678901234567890".
        /// </summary>
        private static string SmartphoneOfflineCode()
        {
            long step = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30;
            byte[] counter = BitConverter.GetBytes(step);
            if (BitConverter.IsLittleEndian)
            {
                Array.Reverse(counter);
            }
            using (var hmac = new HMACSHA1(Encoding.ASCII.GetBytes("12345678901234567890")))
            {
                byte[] digest = hmac.ComputeHash(counter);
                int offset = digest[digest.Length - 1] & 0x0f;
                int binary = ((digest[offset] & 0x7f) << 24) | (digest[offset + 1] << 16) | (digest[offset + 2] << 8) |
                             digest[offset + 3];
                return (binary % 1000000).ToString("D6");
            }
        }
    }
}
