using System;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>Wrong use of the API gives clear exceptions, never a crash.</summary>
    internal sealed class MisuseTests
    {
        [Test]
        public void UseAfterDisposeThrowsObjectDisposed()
        {
            AaClient client = Simulator.Current.NewClient();
            AaLogon logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1");
            client.Dispose();
            client.Dispose(); // idempotent
            Assert.Throws<ObjectDisposedException>(() => client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"),
                "StartLogon on a disposed client");
            Assert.Throws<ObjectDisposedException>(() => client.GetDevices(), "GetDevices on a disposed client");

            // A logon outlives its client.
            Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "logon after the client was disposed");
            logon.Dispose();
            logon.Dispose();
            Assert.Throws<ObjectDisposedException>(() => { LogonStatus s = logon.Status; }, "Status after Dispose");
            Assert.Throws<ObjectDisposedException>(() => logon.Answer("x"), "Answer after Dispose");
            Assert.Throws<ObjectDisposedException>(() => logon.Cancel(), "Cancel after Dispose");
            Assert.Throws<ObjectDisposedException>(() => logon.SignWithDevice(TimeSpan.FromSeconds(1)),
                "SignWithDevice after Dispose");

            var key = new VirtualKey("demo");
            key.Dispose();
            Assert.Throws<ObjectDisposedException>(() => key.Touch(), "Touch after Dispose");
        }

        [Test]
        public void BadArgumentsAndWrongStateThrow()
        {
            using (AaClient client = Simulator.Current.NewClient())
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                var state = Assert.Throws<MisuseException>(() => logon.GatherSignRequest(), "U2F request for PASSWORD:1");
                Assert.Equal(AaStatus.InvalidState, state.Status, "status");
                Assert.NotEmpty(state.Message, "message");
                Assert.Throws<ArgumentNullException>(() => logon.Answer(null), "null answer");
                Assert.Throws<ArgumentException>(() => logon.Answer("nov\0ell"), "answer with NUL");
                Assert.Throws<ArgumentOutOfRangeException>(() => logon.SignWithDevice(TimeSpan.FromSeconds(-1)),
                    "negative timeout");
                var notJson = Assert.Throws<MisuseException>(() => logon.ForwardSignResponse("{not json"),
                    "a signResponse that is not JSON");
                Assert.Equal(AaStatus.InvalidArgument, notJson.Status, "status");
                var tooLong = Assert.Throws<MisuseException>(() => logon.Answer(new string('a', 70000)), "huge answer");
                Assert.Equal(AaStatus.ArgumentTooLong, tooLong.Status, "status");
                // The logon is still fine after all that.
                Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "verdict");
            }
            Assert.Throws<ArgumentNullException>(() => new AaClientOptions(null, "id", "secret"), "null URL");
            Assert.Throws<ArgumentNullException>(() => new AaClient(null), "null options");
            var badPin = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                PinnedPublicKeySha256 = "abc",
            };
            var pin = Assert.Throws<MisuseException>(() => new AaClient(badPin).Dispose(), "malformed pin");
            Assert.Equal(AaStatus.InvalidArgument, pin.Status, "status");
            var badTimeout = new AaClientOptions(Simulator.Current.BaseUrl, Simulator.EndpointId, Simulator.EndpointSecret)
            {
                ConnectTimeout = TimeSpan.Zero,
            };
            Assert.Throws<ArgumentOutOfRangeException>(() => new AaClient(badTimeout).Dispose(), "zero timeout");
            var badHost = Simulator.Current.NewOptions();
            badHost.AllowedAppIdHosts.Add("https://" + Simulator.AppIdHost);
            Assert.Equal(AaStatus.InvalidArgument,
                Assert.Throws<MisuseException>(() => new AaClient(badHost).Dispose(), "an appId host with a scheme").Status,
                "status");
            var nullHost = Simulator.Current.NewOptions();
            nullHost.AllowedAppIdHosts.Add(null);
            Assert.Throws<ArgumentNullException>(() => new AaClient(nullHost).Dispose(), "a null appId host");
            var emptyUrl = new AaClientOptions("", Simulator.EndpointId, Simulator.EndpointSecret);
            Assert.Equal(AaStatus.InvalidArgument,
                Assert.Throws<MisuseException>(() => new AaClient(emptyUrl).Dispose(), "empty URL").Status, "status");
        }

        [Test]
        public void ConcurrentCallOnOneLogonIsBusyNotACrash()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client, Presence.Never);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                using (var touchAsked = new ManualResetEventSlim())
                {
                    Exception signOutcome = null;
                    Thread signer = StartSigner(logon, p =>
                    {
                        if (p == Prompt.TouchKey)
                        {
                            touchAsked.Set();
                        }
                    }, e => signOutcome = e);
                    Assert.True(touchAsked.Wait(TimeSpan.FromSeconds(20)), "the key asked for a touch");
                    var busy = Assert.Throws<MisuseException>(() => logon.Answer("x"), "a second call while signing");
                    Assert.Equal(AaStatus.HandleBusy, busy.Status, "status");
                    logon.Cancel();
                    signer.Join();
                    Assert.True(signOutcome is CancelledException, "the signer was cancelled, got " + signOutcome);
                }
            }
        }

        [Test]
        public void ExceptionInPromptDoesNotEscapeIntoNativeCode()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                VirtualKey key = Simulator.Current.AttachDemoKey(client, Presence.Never);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    var thrown = Assert.Throws<InvalidOperationException>(() => logon.SignWithDevice(TimeSpan.FromSeconds(20),
                        p => { throw new InvalidOperationException("prompt failed: " + p); }), "throwing prompt");
                    Assert.True(thrown.Message.StartsWith("prompt failed", StringComparison.Ordinal),
                        "the prompt's own exception surfaces, got " + thrown.Message);
                    Assert.True(thrown.StackTrace.Contains("ExceptionInPromptDoesNotEscapeIntoNativeCode"),
                        "with the prompt's stack trace");

                    // The wait was cancelled and the logon is still usable.
                    key.SetPresence(Presence.Always);
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(TimeSpan.FromSeconds(20), p => { }),
                        "the logon completes afterwards");
                }
            }
        }

        [Test]
        public void DisposeDuringSignCancelsIt()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                Simulator.Current.AttachDemoKey(client, Presence.Never);
                var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1");
                using (var touchAsked = new ManualResetEventSlim())
                {
                    Exception outcome = null;
                    Thread signer = StartSigner(logon, p => touchAsked.Set(), e => outcome = e);
                    Assert.True(touchAsked.Wait(TimeSpan.FromSeconds(20)), "the wait started");
                    logon.Dispose();
                    Assert.True(signer.Join(TimeSpan.FromSeconds(5)), "the sign call ended soon after Dispose");
                    Assert.True(outcome is CancelledException, "cancelled, got " + outcome);
                }
            }
        }

        [Test]
        public void VirtualKeyAvailabilityIsReported()
        {
            Assert.True(Testkit.IsAvailable, "libaa_logon_testkit is loaded next to libaa_logon");
            Assert.True(VirtualKey.IsAvailable, "virtual keys can be made");
        }

        [Test]
        public void StatusTextsComeFromTheLibrary()
        {
            Assert.Equal("success", AaLibrary.DescribeStatus(AaStatus.Ok), "OK text");
            Assert.Equal("unknown status", AaLibrary.DescribeStatus((AaStatus)999999), "unknown text");
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(AaLibrary.Version, @"^\d+\.\d+\.\d+"), "version");
            Assert.Equal(AaLibrary.HeaderVersion, AaLibrary.Version, "the library is the one the binding was generated for");
        }

        /// <summary>The P/Invoke rules of the binding, checked on every declaration.</summary>
        [Test]
        public void EveryImportIsCdeclWithExplicitMarshalling()
        {
            Type native = typeof(AaClient).Assembly.GetType("AaLogon.NativeMethods", true);
            MethodInfo[] imports = native.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
                .Where(m => m.GetCustomAttributes(typeof(DllImportAttribute), false).Length > 0).ToArray();
            Assert.True(imports.Length > 0, "imports found");
            foreach (MethodInfo import in imports)
            {
                var dll = (DllImportAttribute)import.GetCustomAttributes(typeof(DllImportAttribute), false)[0];
                Assert.Equal(CallingConvention.Cdecl, dll.CallingConvention, import.Name + " calling convention");
                bool testkit = import.Name.StartsWith("aa_virtual_", StringComparison.Ordinal) ||
                               import.Name.StartsWith("aa_testkit_", StringComparison.Ordinal);
                Assert.Equal(testkit ? "aa_logon_testkit" : "aa_logon", dll.Value, import.Name + " library");
                Assert.True(import.ReturnType != typeof(string), import.Name + " does not return a marshalled string");
                Assert.True(import.ReturnType != typeof(bool) || HasU1(import.ReturnParameter),
                    import.Name + " returns a one-byte bool");
                foreach (ParameterInfo parameter in import.GetParameters())
                {
                    Type type = parameter.ParameterType.IsByRef ? parameter.ParameterType.GetElementType() : parameter.ParameterType;
                    Assert.True(type != typeof(string) && type != typeof(StringBuilder),
                        import.Name + "(" + parameter.Name + ") passes strings as UTF-8 bytes or IntPtr");
                    Assert.True(type != typeof(bool) || HasU1(parameter), import.Name + "(" + parameter.Name + ") is a one-byte bool");
                }
            }
            foreach (Type callback in native.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public)
                         .Where(t => typeof(Delegate).IsAssignableFrom(t)))
            {
                var attributes = callback.GetCustomAttributes(typeof(UnmanagedFunctionPointerAttribute), false);
                Assert.True(attributes.Length == 1 &&
                            ((UnmanagedFunctionPointerAttribute)attributes[0]).CallingConvention == CallingConvention.Cdecl,
                    callback.Name + " is a Cdecl function pointer");
            }
        }

        /// <summary>Starts a 20 s SignWithDevice on another thread; what it throws goes to <paramref name="failed"/>.</summary>
        private static Thread StartSigner(AaLogon logon, Action<Prompt> prompt, Action<Exception> failed)
        {
            var signer = new Thread(() =>
            {
                try
                {
                    logon.SignWithDevice(TimeSpan.FromSeconds(20), prompt);
                }
                catch (Exception e)
                {
                    failed(e);
                }
            });
            signer.Start();
            return signer;
        }

        private static bool HasU1(ParameterInfo parameter)
        {
            var marshal = parameter.GetCustomAttributes(typeof(MarshalAsAttribute), false);
            return marshal.Length == 1 && ((MarshalAsAttribute)marshal[0]).Value == UnmanagedType.U1;
        }
    }
}
