using System;
using System.Collections.Generic;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>
    /// FIDO2:1 through <c>SignWithDevice(timeout, pin: …)</c> against the simulator with the virtual
    /// key speaking CTAP2: a logon, the PIN function and the PIN exceptions. The user
    /// "JAGUAR\carol" has a policy that requires user verification, with the key of seed "demo-uv".
    /// </summary>
    internal sealed class Fido2Tests
    {
        private const string EventFido2 = "FIDO2 Logon";
        private const string UserUv = "JAGUAR\\carol";
        private const string Pin = "4711";
        private static readonly TimeSpan SignTimeout = TimeSpan.FromSeconds(20);

        // One key for the run: its signature counter must keep growing for the simulator.
        private static VirtualKey _uvKey;

        private static VirtualKey UvKey
        {
            get { return _uvKey ?? (_uvKey = new VirtualKey("demo-uv")); }
        }

        [Test]
        public void Fido2LogonNeverAsksForAPinItDoesNotNeed()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client);
                var asked = new List<int>();
                using (var logon = client.StartLogon(Simulator.User, EventFido2, "FIDO2:1"))
                {
                    Assert.Equal("FIDO2:1", logon.CurrentMethod, "current method");
                    LogonStatus status = logon.SignWithDevice(SignTimeout, pin: retries =>
                    {
                        asked.Add(retries);
                        return Pin;
                    });
                    Assert.Equal(LogonStatus.Ok, status, "verdict");
                    Assert.NotEmpty(logon.LoginSessionId, "login session id");
                }
                Assert.Equal(0, asked.Count, "the PIN function was not called");
            }
        }

        [Test]
        public void RequiredVerificationOnAKeyWithoutPinIsPinRequired()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                UvKey.AttachTo(client);
                using (var logon = client.StartLogon(UserUv, EventFido2, "FIDO2:1"))
                {
                    var error = Assert.Throws<PinRequiredException>(
                        () => logon.SignWithDevice(SignTimeout, pin: retries => Pin), "no PIN set, no built-in UV");
                    Assert.True(error is DeviceException, "a security-key failure");
                    Assert.Equal(AaStatus.PinRequired, error.Status, "status");
                    Assert.Equal(DeviceCodeKind.Ctap2Status, error.DeviceCodeKind.Value, "device code kind");
                    Assert.Equal(0x35u, error.DeviceCode.Value, "PIN_NOT_SET");
                }
                UvKey.DetachFrom(client);
            }
        }

        [Test]
        public void AWrongPinSaysHowManyRetriesAreLeftThenTheRightOneLogsOn()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                UvKey.AttachTo(client);
                UvKey.SetPin(Pin);
                try
                {
                    var asked = new List<int>();
                    using (var logon = client.StartLogon(UserUv, EventFido2, "FIDO2:1"))
                    {
                        var wrong = Assert.Throws<PinInvalidException>(() => logon.SignWithDevice(SignTimeout, pin: retries =>
                        {
                            asked.Add(retries);
                            return "0000";
                        }), "wrong PIN");
                        Assert.True(wrong.Message.Contains("7 retries left"), "retries in the message: " + wrong.Message);
                        Assert.Equal(0x31u, wrong.DeviceCode.Value, "PIN_INVALID");
                        Assert.Equal(1, asked.Count, "asked once");
                        Assert.Equal(8, asked[0], "told the retries left");
                        var thrown = new InvalidOperationException("the user closed the PIN dialog");
                        var rethrown = Assert.Throws<InvalidOperationException>(
                            () => logon.SignWithDevice(SignTimeout, pin: retries => { throw thrown; }), "a throwing PIN function");
                        Assert.True(ReferenceEquals(thrown, rethrown), "the PIN function's own exception");
                        Assert.Throws<PinRequiredException>(
                            () => logon.SignWithDevice(SignTimeout, pin: retries => null), "no PIN given");
                        Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout, pin: retries => Pin), "the right PIN");
                    }
                    UvKey.PinRetries = 0;
                    using (var logon = client.StartLogon(UserUv, EventFido2, "FIDO2:1"))
                    {
                        var blocked = Assert.Throws<PinBlockedException>(
                            () => logon.SignWithDevice(SignTimeout, pin: retries => Pin), "a blocked PIN");
                        Assert.Equal(0x32u, blocked.DeviceCode.Value, "PIN_BLOCKED");
                        logon.Abort();
                    }
                }
                finally
                {
                    UvKey.SetPin(null);
                    UvKey.DetachFrom(client);
                }
            }
        }
    }
}
