using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>
    /// The CTAP2 settings of <see cref="VirtualKey"/>: the protocols a key speaks, its PIN and PIN
    /// retries, built-in user verification and the cancels it saw; and U2F:1 logons through keys
    /// that speak only U2F or only CTAP2. Each logon uses a simulator of its own: a new key starts
    /// its signature counter at 0, and the run's simulator has already accepted higher counters
    /// from the demo key of the same seed.
    /// </summary>
    internal sealed class VirtualKeyCtap2Tests
    {
        private static readonly TimeSpan SignTimeout = TimeSpan.FromSeconds(20);

        [Test]
        public void AKeyOfEachProtocolSettingReportsItsSettings()
        {
            foreach (KeyProtocols protocols in new[] { KeyProtocols.U2fOnly, KeyProtocols.Ctap2Only, KeyProtocols.Both })
            {
                using (var key = new VirtualKey("demo", protocols))
                {
                    Assert.Equal(protocols, key.Protocols, "protocols");
                    Assert.Equal(0u, key.Counter, protocols + " counter");
                    Assert.Equal(VirtualKey.MaxPinRetries, key.PinRetries, protocols + " PIN retries");
                    Assert.Equal(0u, key.CancelsSeen, protocols + " cancels seen");
                    Assert.True(!key.IsWaitingForTouch, protocols + " not waiting for a touch");
                    key.SetPin("4711");
                    key.SetUv(true, false);
                    key.SetUv(false);
                }
            }
            using (var key = new VirtualKey("demo"))
            {
                Assert.Equal(KeyProtocols.Both, key.Protocols, "the default protocols");
            }
        }

        [Test]
        public void ProtocolsThatAreNoKeyProtocolsAreRefused()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new VirtualKey("demo", (KeyProtocols)7), "protocols 7");
        }

        [Test]
        public void PinRetriesRoundTrip()
        {
            using (var key = new VirtualKey("demo"))
            {
                key.PinRetries = 3;
                Assert.Equal(3, key.PinRetries, "set to 3");
                key.PinRetries = 0;
                Assert.Equal(0, key.PinRetries, "blocked");
                key.PinRetries = 200;
                Assert.Equal(VirtualKey.MaxPinRetries, key.PinRetries, "more than a key has counts as the most");
                key.PinRetries = 2;
                key.SetPin("4711");
                Assert.Equal(VirtualKey.MaxPinRetries, key.PinRetries, "setting the PIN resets the retries");
                key.PinRetries = 5;
                key.SetPin(null);
                Assert.Equal(VirtualKey.MaxPinRetries, key.PinRetries, "removing the PIN resets the retries");
                Assert.Throws<ArgumentOutOfRangeException>(() => key.PinRetries = -1, "negative retries");
            }
        }

        [Test]
        public void AnEmptyPinIsRefusedWithTheTestkitMessage()
        {
            using (var key = new VirtualKey("demo"))
            {
                var error = Assert.Throws<MisuseException>(() => key.SetPin(""), "empty PIN");
                Assert.Equal(AaStatus.InvalidArgument, error.Status, "status");
                Assert.True(error.Message.IndexOf("pin", StringComparison.OrdinalIgnoreCase) >= 0,
                            "the message names the PIN: " + error.Message);
                Assert.Throws<ArgumentException>(() => key.SetPin("47\u000011"), "a PIN with NUL");
            }
        }

        [Test]
        public void AU2fLogonThroughAU2fOnlyKeySucceeds()
        {
            using (var key = new VirtualKey("demo", KeyProtocols.U2fOnly))
            {
                if (!FreshLogon(key, "AU2fLogonThroughAU2fOnlyKeySucceeds"))
                {
                    return;
                }
                Assert.Equal(1u, key.Counter, "one signature");
            }
        }

        [Test]
        public void AU2fLogonThroughACtap2OnlyKeySucceeds()
        {
            // A CTAP2-only key refuses CTAPHID_MSG: the library signs the U2F:1 request with CTAP2
            // getAssertion (the appid extension) instead.
            using (var key = new VirtualKey("demo", KeyProtocols.Ctap2Only))
            {
                if (!FreshLogon(key, "AU2fLogonThroughACtap2OnlyKeySucceeds"))
                {
                    return;
                }
                // At least the signature sent; a silent (no-touch) credential probe may count as well.
                Assert.True(key.Counter >= 1, "the key signed (counter " + key.Counter + ")");
            }
        }

        /// <summary>
        /// A U2F:1 logon of the demo user through <paramref name="key"/> against a simulator started
        /// for it alone; false (after a loud skip line) when no aa-sim binary is given.
        /// </summary>
        private static bool FreshLogon(VirtualKey key, string test)
        {
            string bin = Environment.GetEnvironmentVariable("AA_SIM_BIN");
            if (string.IsNullOrEmpty(bin) || !File.Exists(bin))
            {
                string reason = test + ": a simulator of its own needs the aa-sim binary (AA_SIM_BIN; `cargo build -p aa-sim`)";
                if (Environment.GetEnvironmentVariable("AA_REQUIRE_ALL") == "1")
                {
                    throw new AssertionException(reason + ", and AA_REQUIRE_ALL=1");
                }
                Console.WriteLine("SKIPPED " + reason);
                return false;
            }
            using (var simulator = new FreshSimulator(bin))
            {
                var options = new AaClientOptions(simulator.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
                {
                    CaFile = simulator.CaFile,
                    AllowedAppIdHosts = { Simulator.AppIdHost },
                };
                using (var client = new AaClient(options))
                {
                    key.AttachTo(client);
                    using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                    {
                        Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "verdict");
                        Assert.NotEmpty(logon.LoginSessionId, "login session id");
                    }
                    key.DetachFrom(client);
                }
            }
            return true;
        }

        /// <summary>An aa-sim process on a free loopback port, its CA in a temporary file.</summary>
        private sealed class FreshSimulator : IDisposable
        {
            private readonly Process _process;

            internal FreshSimulator(string bin)
            {
                CaFile = Path.Combine(Path.GetTempPath(), "aa-csharp-ca-" + Guid.NewGuid().ToString("N") + ".pem");
                var info = new ProcessStartInfo(bin, "--listen 127.0.0.1:0 --ca-out \"" + CaFile + "\"")
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                _process = Process.Start(info);
                // Its log is not needed, but a full pipe must never block the simulator.
                _process.ErrorDataReceived += (sender, e) => { };
                _process.BeginErrorReadLine();
                string first = _process.StandardOutput.ReadLine();
                if (string.IsNullOrEmpty(first) || !first.StartsWith("https://", StringComparison.Ordinal))
                {
                    Dispose();
                    throw new InvalidOperationException("aa-sim did not print its URL (got <" + first + ">)");
                }
                var drain = new Thread(() => _process.StandardOutput.ReadToEnd()) { IsBackground = true };
                drain.Start();
                BaseUrl = first.Trim();
            }

            internal string BaseUrl { get; }

            internal string CaFile { get; }

            public void Dispose()
            {
                try
                {
                    if (!_process.HasExited)
                    {
                        _process.Kill();
                        _process.WaitForExit(5000);
                    }
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
                _process.Dispose();
                if (File.Exists(CaFile))
                {
                    File.Delete(CaFile);
                }
            }
        }
    }
}
