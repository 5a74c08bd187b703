using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>Logons against the simulator: U2F with the virtual key, chains, passwords, cancel.</summary>
    internal sealed class LogonTests
    {
        private static readonly TimeSpan SignTimeout = TimeSpan.FromSeconds(20);

        [Test]
        public void U2fLogonCompletesWithLoginSessionAndUserFields()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                VirtualKey key = Simulator.Current.AttachDemoKey(client);
                uint counterBefore = key.Counter;
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    Assert.Equal("U2F:1", logon.CurrentMethod, "current method");
                    Assert.NotEmpty(logon.ProcessId, "process id");
                    Assert.True(logon.LoginSessionId == null, "no login session before OK");
                    Assert.True(logon.SignResponseJson == null, "no signResponse before signing");
                    var prompts = new List<Prompt>();
                    int promptThread = -1;
                    LogonStatus status = logon.SignWithDevice(SignTimeout, p =>
                    {
                        prompts.Add(p);
                        promptThread = Thread.CurrentThread.ManagedThreadId;
                    });
                    Assert.Equal(LogonStatus.Ok, status, "verdict");
                    Assert.Equal(LogonStatus.Ok, logon.Status, "Status");
                    Assert.True(prompts.Contains(Prompt.Touched), "a Touched prompt, got " + string.Join(",", prompts));
                    Assert.Equal(Thread.CurrentThread.ManagedThreadId, promptThread, "prompt runs on the calling thread");
                    string session = logon.LoginSessionId;
                    Assert.NotEmpty(session, "login session id");
                    Assert.True(logon.SignResponseJson.Contains("\"signatureData\""), "the signResponse sent");
                    Assert.True(logon.GetUserField("user_name").EndsWith("denis", StringComparison.OrdinalIgnoreCase),
                        "user_name is denis's, got " + logon.GetUserField("user_name"));
                    Assert.NotEmpty(logon.GetUserField("user_id"), "user_id");
                    Assert.True(logon.GetUserField("user_no_such_field") == null, "missing user field is null");
                    Assert.True(logon.CompletedMethods.SequenceEqual(new[] { "U2F:1" }), "completed methods");
                    Assert.True(logon.ResponseJson.Contains("\"OK\""), "raw answer has status OK");
                    Assert.Equal(counterBefore + 1, key.Counter, "the key signed once");

                    LoginSession info = client.GetLoginSession(session);
                    Assert.True(info.UserName.EndsWith("denis", StringComparison.OrdinalIgnoreCase), "session user");
                    Assert.Equal(Simulator.Event, info.EventName, "session event");
                    client.Logout(session);
                    var gone = Assert.Throws<ServerException>(() => client.Logout(session), "second logout");
                    Assert.Equal(434, gone.HttpStatus, "HTTP status of an unknown session");
                }
            }
        }

        [Test]
        public void GatheredSignRequestNamesTheEnrolledKey()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client);
                IReadOnlyList<DeviceInfo> devices = client.GetDevices();
                Assert.Equal(1, devices.Count, "one virtual device");
                Assert.NotEmpty(devices[0].Path, "device path");
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    IReadOnlyList<SignRequest> requests = logon.GatherSignRequest();
                    Assert.Equal(1, requests.Count, "one enrolled key");
                    Assert.Equal("U2F_V2", requests[0].Version, "version");
                    Assert.NotEmpty(requests[0].KeyHandle, "key handle");
                    Assert.NotEmpty(requests[0].Challenge, "challenge");
                    Assert.NotEmpty(requests[0].AppId, "app id");
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "verdict after gathering");
                }
            }
        }

        [Test]
        public void LdapPasswordThenU2fChain()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client);
                UserChains offered = client.GetChains(Simulator.User, Simulator.Event);
                Assert.True(!offered.UserIsLocked, "denis is not locked");
                Chain chain = offered.Chains.FirstOrDefault(c => c.Name == "LDAP + U2F");
                Assert.True(chain != null, "the LDAP + U2F chain is offered, got " + string.Join("; ", offered.Chains));
                Assert.True(chain.Methods.SequenceEqual(new[] { "LDAP_PASSWORD:1", "U2F:1" }), "its methods");

                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, chain.Methods[0]))
                {
                    Assert.True(logon.Chains.Count > 0, "the logon lists its chains");
                    Assert.Equal(LogonStatus.Next, logon.Answer(Simulator.Password), "LDAP password verdict");
                    Assert.True(logon.CompletedMethods.SequenceEqual(new[] { "LDAP_PASSWORD:1" }), "LDAP completed");
                    logon.Next(chain.Methods[1]);
                    Assert.Equal("U2F:1", logon.CurrentMethod, "now U2F");
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "U2F verdict");
                    Assert.True(logon.CompletedMethods.SequenceEqual(new[] { "LDAP_PASSWORD:1", "U2F:1" }), "both completed");
                    Assert.NotEmpty(logon.LoginSessionId, "login session id");
                }
            }
        }

        [Test]
        public void CancelFromAnotherThreadDuringTouchWait()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                VirtualKey key = Simulator.Current.AttachDemoKey(client, Presence.Never);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                using (var touchAsked = new ManualResetEventSlim())
                {
                    long cancelledAt = 0;
                    bool keyWaited = false, signReturned = false;
                    var watch = Stopwatch.StartNew();
                    var canceller = new Thread(() =>
                    {
                        // Cancel at the moment a user would give up: once this sign asked for a touch
                        // and the key itself waits for it.
                        keyWaited = SpinWait.SpinUntil(() => Volatile.Read(ref signReturned) ||
                                                             (touchAsked.IsSet && key.IsWaitingForTouch), SignTimeout) &&
                                    !Volatile.Read(ref signReturned);
                        if (keyWaited)
                        {
                            Interlocked.Exchange(ref cancelledAt, watch.ElapsedMilliseconds);
                            logon.Cancel();
                        }
                    });
                    canceller.Start();
                    long returnedAt;
                    try
                    {
                        Assert.Throws<CancelledException>(() => logon.SignWithDevice(SignTimeout, p =>
                        {
                            if (p == Prompt.TouchKey)
                            {
                                touchAsked.Set();
                            }
                        }), "sign while another thread cancels");
                    }
                    finally
                    {
                        returnedAt = watch.ElapsedMilliseconds;
                        Volatile.Write(ref signReturned, true);
                        canceller.Join();
                    }
                    Assert.True(touchAsked.IsSet, "the key asked for a touch first");
                    Assert.True(keyWaited, "the key was waiting for the touch when the cancel came");
                    Console.WriteLine("  cancel took effect after " + (returnedAt - Interlocked.Read(ref cancelledAt)) + " ms");

                    key.SetPresence(Presence.Always);
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "the logon completes after the cancel");
                    Assert.NotEmpty(logon.LoginSessionId, "login session id");
                }
            }
        }

        [Test]
        public void CancellationTokenCancelsTheTouchWait()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var source = new CancellationTokenSource())
            {
                VirtualKey key = Simulator.Current.AttachDemoKey(client, Presence.Never);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    var watch = Stopwatch.StartNew();
                    bool touchAsked = false, signReturned = false;
                    var canceller = new Thread(() =>
                    {
                        if (SpinWait.SpinUntil(() => Volatile.Read(ref signReturned) ||
                                                     (Volatile.Read(ref touchAsked) && key.IsWaitingForTouch), SignTimeout) &&
                            !Volatile.Read(ref signReturned))
                        {
                            source.Cancel();
                        }
                    });
                    canceller.Start();
                    try
                    {
                        Assert.Throws<CancelledException>(() => logon.SignWithDevice(SignTimeout, p =>
                        {
                            if (p == Prompt.TouchKey)
                            {
                                Volatile.Write(ref touchAsked, true);
                            }
                        }, source.Token), "sign with a token cancelled during the wait");
                    }
                    finally
                    {
                        Volatile.Write(ref signReturned, true);
                        canceller.Join();
                    }
                    Assert.True(source.IsCancellationRequested, "the token was cancelled while the key waited for a touch");
                    Console.WriteLine("  token cancel returned after " + watch.ElapsedMilliseconds + " ms");

                    // An already cancelled token ends the call at once; the logon stays usable.
                    Assert.Throws<CancelledException>(() => logon.SignWithDevice(SignTimeout, null, source.Token),
                        "sign with an already cancelled token");
                    key.SetPresence(Presence.Always);
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout, null, CancellationToken.None),
                        "the logon completes afterwards");
                }
            }
        }

        [Test]
        public void AppIdOfAnotherHostIsRefusedUnlessAllowed()
        {
            var options = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                CaFile = Simulator.Current.CaFile,
            };
            using (var client = new AaClient(options))
            {
                Simulator.Current.AttachDemoKey(client);
                uint counterBefore = Simulator.Current.DemoKey().Counter;
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    var refused = Assert.Throws<MalformedServerDataException>(() => logon.GatherSignRequest(),
                        "a sign request for https://" + Simulator.AppIdHost + " from " + Simulator.Current.BaseUrl);
                    Assert.True(refused.Message.Contains(Simulator.AppIdHost), "the message names the appId, got " + refused.Message);
                    Assert.Throws<MalformedServerDataException>(() => logon.SignWithDevice(SignTimeout), "signing it");
                }
                Assert.Equal(counterBefore, Simulator.Current.DemoKey().Counter, "the key never signed");
            }
            options.AllowedAppIdHosts.Add(Simulator.AppIdHost);
            using (var client = new AaClient(options))
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
            {
                Assert.Equal(1, logon.GatherSignRequest().Count, "allowed: the sign request is gathered");
            }
        }

        [Test]
        public void TouchTimeoutIsReported()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client, Presence.Never);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    Assert.Throws<UserPresenceTimeoutException>(() => logon.SignWithDevice(TimeSpan.FromMilliseconds(300)),
                        "no touch within the timeout");
                }
            }
        }

        [Test]
        public void KeyNotEnrolledForTheUserIsNoMatchingKey()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var stranger = new VirtualKey("not enrolled anywhere"))
            {
                stranger.AttachTo(client);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    Assert.Throws<NoMatchingKeyException>(() => logon.SignWithDevice(TimeSpan.FromSeconds(1)),
                        "only a key of another seed is plugged in");
                }
            }
        }

        [Test]
        public void UnpluggedKeyIsNoDevice()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var key = new VirtualKey("unplugged"))
            {
                // A key of its own: unplugging a key disconnects it everywhere until it is plugged
                // back in, and other tests may hold clients of the run's demo key.
                key.AttachTo(client);
                Assert.Equal(1, client.GetDevices().Count, "one device while attached");
                key.DetachFrom(client);
                Assert.Equal(0, client.GetDevices().Count, "no device after the detach");
                var twice = Assert.Throws<MisuseException>(() => key.DetachFrom(client), "a second detach");
                Assert.Equal(AaStatus.InvalidState, twice.Status, "status of a second detach");
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    var prompts = new List<Prompt>();
                    var none = Assert.Throws<NoDeviceException>(
                        () => logon.SignWithDevice(TimeSpan.FromMilliseconds(500), prompts.Add), "no key plugged in");
                    Assert.True(prompts.Contains(Prompt.InsertKey), "the user was asked to insert a key");
                    Assert.True(none.DeviceCodeKind == null && none.DeviceCode == null, "no device code without a key");
                }
                key.AttachTo(client);
                Assert.Equal(1, client.GetDevices().Count, "the key is back after attaching it again");
            }
        }

        [Test]
        public void WrongPasswordThrowsLogonFailedWithMsgid()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                var failed = Assert.Throws<LogonFailedException>(() => logon.Answer("not the password"), "wrong password");
                Assert.Equal(AaStatus.LogonFailed, failed.Status, "Status");
                Assert.Equal("AUCORE-2007", failed.Msgid, "Msgid");
                Assert.NotEmpty(failed.Message, "Message");
                // Not a device failure: aa_error_device_code says NOT_AVAILABLE, the exception null.
                Assert.True(failed.DeviceCodeKind == null, "no DeviceCodeKind on a server verdict, got " + failed.DeviceCodeKind);
                Assert.True(failed.DeviceCode == null, "no DeviceCode on a server verdict, got " + failed.DeviceCode);
                Assert.Equal(LogonStatus.Failed, logon.Status, "logon status");
                Assert.Equal("PASSWORD_WRONG", logon.Reason, "logon reason");
                Assert.Equal("AUCORE-2007", logon.Msgid, "logon msgid");
                Assert.True(logon.LoginSessionId == null, "no login session");
            }
        }

        [Test]
        public void UserFieldsComeInOneCall()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "verdict");
                IReadOnlyDictionary<string, string> fields = logon.GetUserFields();
                Assert.True(fields.ContainsKey("user_name") && fields["user_name"].EndsWith("denis", StringComparison.OrdinalIgnoreCase),
                    "user_name is denis's, got " + string.Join(", ", fields.Select(f => f.Key + "=" + f.Value)));
                Assert.NotEmpty(fields.ContainsKey("user_id") ? fields["user_id"] : null, "user_id");
                foreach (KeyValuePair<string, string> field in fields.Where(f => f.Key.StartsWith("user_", StringComparison.Ordinal)))
                {
                    Assert.Equal(logon.GetUserField(field.Key), field.Value, field.Key + " one at a time and all at once");
                }
                Assert.True(!fields.ContainsKey("user_no_such_field"), "only fields the server sent");
            }
        }

        [Test]
        public void PasswordChainLogsOn()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "verdict");
                Assert.NotEmpty(logon.Message, "server message");
                Assert.NotEmpty(logon.LoginSessionId, "login session id");
            }
        }

        [Test]
        public void UnknownUserThrowsServerErrorWithHttpStatusAndMsgid()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                var error = Assert.Throws<ServerException>(
                    () => client.StartLogon("JAGUAR\\nobody", Simulator.Event, "PASSWORD:1"), "unknown user");
                Assert.Equal(AaStatus.ServerError, error.Status, "Status");
                Assert.Equal(400, error.HttpStatus, "HttpStatus");
                Assert.Equal("AUCORE-1056", error.Msgid, "Msgid");
                Assert.NotEmpty(error.Message, "Message");
            }
        }

        [Test]
        public void UntrustedCertificateAndWrongPinFailTls()
        {
            var untrusted = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret);
            using (var client = new AaClient(untrusted))
            {
                Assert.Throws<TlsException>(() => client.GetChains(Simulator.User, Simulator.Event), "no CA trusted");
            }
            var pinned = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                CaFile = Simulator.Current.CaFile,
                PinnedPublicKeySha256 = new string('0', 64),
            };
            using (var client = new AaClient(pinned))
            {
                Assert.Throws<TlsException>(() => client.GetChains(Simulator.User, Simulator.Event), "wrong pin");
            }
        }

        [Test]
        public void ClientOptionsAreApplied()
        {
            var options = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                CaFile = Simulator.Current.CaFile,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                RequestTimeout = TimeSpan.FromSeconds(15),
                UserAgent = "aa-logon-csharp-tests",
                MaxResponseBytes = 64,
            };
            using (var client = new AaClient(options))
            {
                // 64 bytes cannot hold the chains answer: the size cap is in force.
                Assert.Throws<MalformedServerDataException>(() => client.GetChains(Simulator.User, Simulator.Event),
                    "answer larger than MaxResponseBytes");
            }
            options.MaxResponseBytes = null;
            using (var client = new AaClient(options))
            {
                Assert.True(client.GetChains(Simulator.User, Simulator.Event).Chains.Count > 0, "chains with the defaults");
            }
            var missingCa = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                CaFile = "/nonexistent/ca.pem",
            };
            Assert.Throws<ConfigurationException>(() => new AaClient(missingCa).Dispose(), "missing CA file");
        }

        [Test]
        public void LogHandlerReceivesMessagesWithoutSecrets()
        {
            var lines = new List<string>();
            try
            {
                AaLibrary.SetLogHandler((level, message) =>
                {
                    lock (lines)
                    {
                        lines.Add(level + " " + message);
                    }
                }, LogLevel.Debug);
                using (AaClient client = Simulator.Current.NewClient())
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
                {
                    logon.Answer(Simulator.Password);
                }
                long failuresBefore = AaLibrary.LogHandlerFailures;
                AaLibrary.SetLogHandler((level, message) => { throw new InvalidOperationException("handler bug"); },
                    LogLevel.Debug);
                using (AaClient client = Simulator.Current.NewClient())
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
                {
                    Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "logon with a throwing log handler");
                }
                Assert.True(AaLibrary.LogHandlerFailures > failuresBefore, "the handler's exceptions were swallowed and counted");
            }
            finally
            {
                AaLibrary.SetLogHandler(null);
            }
            lock (lines)
            {
                Console.WriteLine("  " + lines.Count + " log lines at DEBUG");
                Assert.True(lines.Count > 0, "log lines arrived");
                Assert.True(!lines.Any(l => l.Contains(Simulator.Password) || l.Contains(Simulator.EndpointSecret)),
                    "no secret in the log");
            }
        }
    }
}
