using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>
    /// A transport written in C# that stands between the library and the virtual keys: every
    /// call is forwarded to <see cref="VirtualDevices.CreateHidTransport"/> (the testkit's own HID
    /// functions), device paths get a prefix of its own, and reads can be rewritten.
    /// </summary>
    internal sealed class ForwardingTransport : HidTransport
    {
        internal const string Prefix = "csharp:";

        private readonly HidTransport _inner;
        private int _enumerations, _opens, _closes, _writes, _reads, _releases, _collections;

        internal ForwardingTransport(HidTransport inner)
        {
            _inner = inner;
        }

        /// <summary>Applied to every report read (in place), or null.</summary>
        internal Action<byte[]> RewriteRead { get; set; }

        internal int Enumerations => Volatile.Read(ref _enumerations);
        internal int Opens => Volatile.Read(ref _opens);
        internal int Closes => Volatile.Read(ref _closes);
        internal int Writes => Volatile.Read(ref _writes);
        internal int Reads => Volatile.Read(ref _reads);
        internal int Releases => Volatile.Read(ref _releases);

        public override IEnumerable<DeviceInfo> Enumerate()
        {
            Interlocked.Increment(ref _enumerations);
            return _inner.Enumerate()
                .Select(d => new DeviceInfo(Prefix + d.Path, d.VendorId, d.ProductId, d.Manufacturer, d.Product, d.SerialNumber))
                .ToList();
        }

        public override object Open(string path)
        {
            if (!path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                throw new ArgumentException("not a path this transport listed: " + path);
            }
            object device = _inner.Open(path.Substring(Prefix.Length));
            if (device != null)
            {
                Interlocked.Increment(ref _opens);
            }
            return device;
        }

        public override void Close(object device)
        {
            Interlocked.Increment(ref _closes);
            _inner.Close(device);
        }

        public override void Write(object device, byte[] report)
        {
            Assert.Equal(ReportLength, report.Length, "report length");
            if (Interlocked.Increment(ref _writes) == 1 && Interlocked.Increment(ref _collections) == 1)
            {
                // In the middle of a native call: the trampolines and handles must survive a collection.
                GC.Collect();
            }
            _inner.Write(device, report);
        }

        public override int Read(object device, byte[] report, int timeoutMilliseconds)
        {
            int count = _inner.Read(device, report, timeoutMilliseconds);
            if (count > 0)
            {
                Interlocked.Increment(ref _reads);
                RewriteRead?.Invoke(report);
            }
            return count;
        }

        protected override void OnReleased()
        {
            Interlocked.Increment(ref _releases);
        }
    }

    /// <summary>A transport whose every method fails.</summary>
    internal sealed class BrokenTransport : HidTransport
    {
        internal bool ListTwice { get; set; }

        public override IEnumerable<DeviceInfo> Enumerate()
        {
            if (ListTwice)
            {
                var device = new DeviceInfo("twin", 1, 2, null, null, null);
                return new[] { device, device };
            }
            throw new InvalidOperationException("enumerate broke");
        }

        public override object Open(string path)
        {
            throw new InvalidOperationException("open broke");
        }

        public override void Close(object device)
        {
        }

        public override void Write(object device, byte[] report)
        {
            throw new InvalidOperationException("write broke");
        }

        public override int Read(object device, byte[] report, int timeoutMilliseconds)
        {
            throw new InvalidOperationException("read broke");
        }
    }

    /// <summary>The public pluggable HID transport (<see cref="AaClient.SetHidTransport"/>).</summary>
    internal sealed class TransportTests
    {
        private static readonly TimeSpan SignTimeout = TimeSpan.FromSeconds(20);

        [Test]
        public void CustomTransportForwardingToTheVirtualKeyCompletesU2fLogon()
        {
            VirtualKey key = Simulator.Current.DemoKey();
            var client = Simulator.Current.NewClient();
            ForwardingTransport transport;
            using (var devices = new VirtualDevices())
            {
                devices.Plug(key);
                transport = new ForwardingTransport(devices.CreateHidTransport());
                client.SetHidTransport(transport);
            }
            IReadOnlyList<DeviceInfo> listed = client.GetDevices();
            Assert.Equal(1, listed.Count, "one device through the C# transport");
            Assert.True(listed[0].Path.StartsWith(ForwardingTransport.Prefix, StringComparison.Ordinal),
                "the path is the C# transport's, got " + listed[0].Path);
            Assert.NotEmpty(listed[0].Product, "product string through the sink");
            uint counterBefore = key.Counter;
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
            {
                var prompts = new List<Prompt>();
                Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout, prompts.Add), "verdict");
                Assert.True(prompts.Contains(Prompt.Touched), "a Touched prompt, got " + string.Join(",", prompts));
                Assert.NotEmpty(logon.LoginSessionId, "login session id");
            }
            Assert.Equal(counterBefore + 1, key.Counter, "the virtual key behind the C# transport signed once");
            Assert.True(transport.Writes > 0 && transport.Reads > 0,
                "reports went through C#: " + transport.Writes + " written, " + transport.Reads + " read");
            Assert.True(transport.LastFailure == null, "no failure in the transport, got " + transport.LastFailure);
            Assert.Equal(0, transport.Releases, "still in use by the client");
            client.Dispose();
            Assert.Equal(1, transport.Releases, "released once the client and its logons are gone");
            Assert.Equal(transport.Opens, transport.Closes, "every opened device was closed");
        }

        [Test]
        public void KeysStatusWordReachesTheExceptionAsDeviceCode()
        {
            VirtualKey key = Simulator.Current.DemoKey(Presence.Never);
            using (AaClient client = Simulator.Current.NewClient())
            using (var devices = new VirtualDevices())
            {
                devices.Plug(key);
                // The key answers a U2F AUTHENTICATE it cannot sign yet with 0x6985 (user presence
                // required); this transport turns that into 0x6F00, "no precise diagnosis".
                var transport = new ForwardingTransport(devices.CreateHidTransport())
                {
                    RewriteRead = report =>
                    {
                        bool msgReply = report[4] == 0x83 && report[5] == 0 && report[6] == 2;
                        if (msgReply && report[7] == 0x69 && report[8] == 0x85)
                        {
                            report[7] = 0x6F;
                            report[8] = 0x00;
                        }
                    },
                };
                client.SetHidTransport(transport);
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    AaException failure = null;
                    try
                    {
                        logon.SignWithDevice(SignTimeout);
                    }
                    catch (AaException e)
                    {
                        failure = e;
                    }
                    Assert.True(failure is DeviceException, "a security-key failure, got " + failure);
                    Assert.Equal((DeviceCodeKind?)DeviceCodeKind.Iso7816Status, failure.DeviceCodeKind, "device code kind");
                    Assert.Equal((uint?)0x6F00, failure.DeviceCode, "device code");
                }
            }
        }

        [Test]
        public void TransportExceptionsStayInCSharp()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                var broken = new BrokenTransport();
                client.SetHidTransport(broken);
                var listing = Assert.Throws<DeviceException>(() => client.GetDevices(), "a listing through a throwing Enumerate");
                Assert.Equal(AaStatus.DeviceError, listing.Status, "status");
                Assert.True(broken.LastFailure is InvalidOperationException && broken.LastFailure.Message == "enumerate broke",
                    "the exception is kept on the transport, got " + broken.LastFailure);
                Assert.True(listing.DeviceCodeKind == null, "no device code: no key reported one");

                broken.ListTwice = true;
                Assert.Throws<DeviceException>(() => client.GetDevices(), "a listing with a duplicate path");
                Assert.True(broken.LastFailure.Message.Contains("twin"), "the library's refusal is kept, got " +
                                                                         broken.LastFailure.Message);
                Assert.True(broken.Failures >= 2, "both failures counted");

                client.SetHidTransport(null); // back to USB HID: the transport is released
            }
            var disposed = Simulator.Current.NewClient();
            disposed.Dispose();
            Assert.Throws<ObjectDisposedException>(() => disposed.SetHidTransport(new BrokenTransport()),
                "SetHidTransport on a disposed client");
        }

        [Test]
        public void AttachingAVirtualKeyReplacesTheTransport()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                var broken = new BrokenTransport();
                client.SetHidTransport(broken);
                Simulator.Current.AttachDemoKey(client);
                Assert.Equal(1, client.GetDevices().Count, "the virtual key, not the broken transport");
                Assert.Equal(0L, broken.Failures, "the broken transport is not asked any more");
                using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                {
                    Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "verdict");
                }
            }
        }
    }
}
