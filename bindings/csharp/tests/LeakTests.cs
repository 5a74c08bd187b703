using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>
    /// Repeated logons leave no native handle or string behind. Memory figures are printed, not
    /// asserted (they depend on the runtime and the allocator); the live-object count is exact.
    /// </summary>
    internal sealed class LeakTests
    {
        private const int Logons = 1000;
        private const int WrongPasswordEvery = 10;

        [Test]
        public void ThousandPasswordLogonsLeakNoHandles()
        {
            using (AaClient client = Simulator.Current.NewClient())
            {
                // Warm up: the endpoint session, connection pool and lazy statics exist from now on.
                RunOne(client, 0);
                ulong baseline = AaLibrary.LiveObjects;
                long managedBefore = ManagedBytes();
                long rssBefore = ResidentKiB();

                var watch = Stopwatch.StartNew();
                for (int i = 1; i <= Logons; i++)
                {
                    RunOne(client, i);
                }
                watch.Stop();

                ulong after = AaLibrary.LiveObjects;
                long managedAfter = ManagedBytes();
                long rssAfter = ResidentKiB();
                Console.WriteLine("  {0} logons in {1} ms ({2:F2} ms each); live objects {3} -> {4}", Logons,
                    watch.ElapsedMilliseconds, watch.Elapsed.TotalMilliseconds / Logons, baseline, after);
                Console.WriteLine("  managed heap {0} KiB -> {1} KiB; resident set {2} -> {3} KiB", managedBefore / 1024,
                    managedAfter / 1024, rssBefore < 0 ? "n/a" : rssBefore.ToString(),
                    rssAfter < 0 ? "n/a" : rssAfter.ToString());
                Assert.Equal(baseline, after, "native handles and strings after " + Logons + " logons");
            }
        }

        [Test]
        public void VirtualKeysDevicesAndTransportsLeakNoHandles()
        {
            const int Rounds = 50;
            ulong nativeBefore = AaLibrary.LiveObjects;
            ulong testkitBefore = Testkit.LiveObjects;
            var transports = new List<ForwardingTransport>();
            for (int i = 0; i < Rounds; i++)
            {
                using (AaClient client = Simulator.Current.NewClient())
                using (var key = new VirtualKey("leak check " + i))
                {
                    key.AttachTo(client);
                    Assert.Equal(1, client.GetDevices().Count, "the attached key");
                    key.DetachFrom(client);
                    key.AttachTo(client);
                    using (var devices = new VirtualDevices())
                    {
                        devices.Plug(key);
                        var transport = new ForwardingTransport(devices.CreateHidTransport());
                        transports.Add(transport);
                        client.SetHidTransport(transport);
                    }
                    Assert.Equal(1, client.GetDevices().Count, "the key through the C# transport");
                }
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.Equal(nativeBefore, AaLibrary.LiveObjects, "libaa_logon handles and strings after " + Rounds + " rounds");
            Assert.Equal(testkitBefore, Testkit.LiveObjects, "testkit keys and device sets after " + Rounds + " rounds");
            Assert.True(transports.TrueForAll(t => t.Releases == 1),
                "every transport registration was released once (its GCHandle freed)");
        }

        /// <summary>One password logon; every tenth with a wrong password, so the error path is counted too.</summary>
        private static void RunOne(AaClient client, int i)
        {
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                if (i % WrongPasswordEvery == WrongPasswordEvery - 1)
                {
                    try
                    {
                        logon.Answer("wrong");
                        throw new AssertionException("a wrong password was accepted");
                    }
                    catch (LogonFailedException e)
                    {
                        Assert.Equal("AUCORE-2007", e.Msgid, "msgid");
                    }
                    return;
                }
                Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "verdict");
                Assert.NotEmpty(logon.LoginSessionId, "login session id");
                Assert.NotEmpty(logon.GetUserField("user_name"), "user name");
            }
        }

        private static long ManagedBytes()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return GC.GetTotalMemory(true);
        }

        /// <summary>VmRSS of this process in KiB on Linux; -1 elsewhere.</summary>
        private static long ResidentKiB()
        {
            const string status = "/proc/self/status";
            if (!File.Exists(status))
            {
                return -1;
            }
            Match match = Regex.Match(File.ReadAllText(status), @"VmRSS:\s+(\d+) kB");
            return match.Success ? long.Parse(match.Groups[1].Value) : -1;
        }
    }
}
