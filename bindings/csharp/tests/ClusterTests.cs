using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace AaLogon.Tests
{
    /// <summary>
    /// AA clusters: failover between the two instances of a simulator cluster, back-off, the
    /// connection limit, and the options' checks. Each test that takes an instance down runs
    /// against a fresh aa-sim process of its own (disposed at the end), so no outage reaches
    /// another test.
    /// </summary>
    internal sealed class ClusterTests
    {
        private const int Threads = 8;
        private const int LogonsPerThread = 10;
        private const int MaxConnections = 4;
        private static readonly TimeSpan SignTimeout = TimeSpan.FromSeconds(20);
        /// <summary>Longer than any test: a server that failed stays skipped.</summary>
        private static readonly TimeSpan LongBackoff = TimeSpan.FromHours(1);
        /// <summary>A hang guard for the worker threads, never a time the test expects.</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(5);

        [Test]
        public void PreferredServerRefusingMovesAU2fLogonToTheSecond()
        {
            WithCluster((cluster, control) =>
            {
                control.SetOutage(0, "refuse");
                using (var client = new AaClient(ClusterOptions(cluster)))
                {
                    Assert.Equal(cluster.BaseUrls[0], client.CurrentServer, "the preferred server before any call");
                    Simulator.Current.AttachDemoKey(client);
                    using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "U2F:1"))
                    {
                        Assert.Equal(LogonStatus.Ok, logon.SignWithDevice(SignTimeout), "verdict");
                        Assert.NotEmpty(logon.LoginSessionId, "login session id");
                        Assert.Equal(cluster.BaseUrls[1], logon.Server, "the logon's server");
                        Assert.Equal(cluster.BaseUrls[1], client.CurrentServer, "the client's server");
                        client.Logout(logon.LoginSessionId);
                    }

                    // Back again, but still skipped for the back-off period.
                    control.Restore(0);
                    Assert.Equal(cluster.BaseUrls[1], PasswordLogon(client), "the server of a logon after the restore");
                    Assert.Equal(0L, control.Counter(0, "requests"), "requests that reached the refusing server");
                }
            });
        }

        [Test]
        public void PreferredServerAnswering503MovesAPasswordLogonToTheSecond()
        {
            WithCluster((cluster, control) =>
            {
                control.SetOutage(0, "unavailable");
                using (var client = new AaClient(ClusterOptions(cluster)))
                {
                    Assert.Equal(cluster.BaseUrls[1], PasswordLogon(client), "the logon's server");
                    Assert.Equal(cluster.BaseUrls[1], client.CurrentServer, "the client's server");
                    Assert.Equal(1L, control.Counter(0, "requests"), "one 503, then back-off");
                }
            });
        }

        [Test]
        public void ZeroBackoffTriesThePreferredServerAgainOnTheNextCall()
        {
            WithCluster((cluster, control) =>
            {
                AaClientOptions options = ClusterOptions(cluster);
                options.ServerBackoff = TimeSpan.Zero;
                control.SetOutage(0, "refuse");
                using (var client = new AaClient(options))
                {
                    Assert.Equal(cluster.BaseUrls[1], PasswordLogon(client), "the server while the preferred one refuses");
                    control.Restore(0);
                    Assert.Equal(cluster.BaseUrls[0], PasswordLogon(client), "the server once it is back");
                    Assert.Equal(cluster.BaseUrls[0], client.CurrentServer, "the client's server");
                }
            });
        }

        [Test]
        public void EveryServerDownNamesEachServerInTheError()
        {
            WithCluster((cluster, control) =>
            {
                control.SetOutage(0, "refuse");
                control.SetOutage(1, "refuse"); // answered by instance 1 before it closes
                using (var client = new AaClient(ClusterOptions(cluster)))
                {
                    var down = Assert.Throws<NetworkException>(
                        () => client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"), "logon with every server down");
                    Assert.Equal(AaStatus.Network, down.Status, "status");
                    Assert.True(down.Message.Contains("none of the 2 AA servers could serve the call"),
                        "the message says no server could serve the call: " + down.Message);
                    foreach (string url in cluster.BaseUrls)
                    {
                        Assert.True(down.Message.Contains(url), "the message names " + url + ": " + down.Message);
                    }
                    Assert.Equal(cluster.BaseUrls[0], client.CurrentServer, "no server answered: still the preferred one");
                }
            });
        }

        [Test]
        public void InvalidAndDuplicateFailoverUrlsAreRefusedWhenTheClientIsCreated()
        {
            const string other = "https://aa2.example.com";
            var refused = new Dictionary<string, Action<AaClientOptions>>
            {
                { "not a URL", o => o.FailoverUrls.Add("aa2 example com") },
                { "neither https nor http", o => o.FailoverUrls.Add("ftp://aa2.example.com") },
                { "with credentials", o => o.FailoverUrls.Add("https://user:password@aa2.example.com") },
                { "the base URL again", o => o.FailoverUrls.Add(o.BaseUrl) },
                { "listed twice", o => { o.FailoverUrls.Add(other); o.FailoverUrls.Add(other); } },
            };
            ulong liveBefore = AaLibrary.LiveObjects;
            foreach (KeyValuePair<string, Action<AaClientOptions>> failover in refused)
            {
                AaClientOptions options = Simulator.Current.NewOptions();
                failover.Value(options);
                var misuse = Assert.Throws<MisuseException>(() => new AaClient(options).Dispose(), failover.Key);
                Assert.Equal(AaStatus.InvalidArgument, misuse.Status, failover.Key + ": status");
            }
            AaClientOptions withNull = Simulator.Current.NewOptions();
            withNull.FailoverUrls.Add(null);
            var nullUrl = Assert.Throws<ArgumentNullException>(() => new AaClient(withNull).Dispose(), "a null failover URL");
            Assert.Equal("FailoverUrls", nullUrl.ParamName, "parameter");
            Assert.Equal(liveBefore, AaLibrary.LiveObjects, "native objects left by the refused options");

            AaClientOptions accepted = Simulator.Current.NewOptions();
            accepted.FailoverUrls.Add(other);
            accepted.FailoverUrls.Add("https://aa3.example.com:8443");
            using (var client = new AaClient(accepted))
            {
                Assert.Equal(accepted.BaseUrl, client.CurrentServer, "the preferred server before any call");
            }
        }

        [Test]
        public void OutOfRangeMaxConnectionsAndBackoffAreRefused()
        {
            foreach (int connections in new[] { 0, -1, int.MinValue })
            {
                AaClientOptions options = Simulator.Current.NewOptions();
                options.MaxConnections = connections;
                var range = Assert.Throws<ArgumentOutOfRangeException>(() => new AaClient(options).Dispose(),
                    "MaxConnections = " + connections);
                Assert.Equal("MaxConnections", range.ParamName, "parameter");
            }
            foreach (TimeSpan backoff in new[] { TimeSpan.FromMilliseconds(-1), TimeSpan.FromTicks(-1), TimeSpan.MinValue })
            {
                AaClientOptions options = Simulator.Current.NewOptions();
                options.ServerBackoff = backoff;
                var range = Assert.Throws<ArgumentOutOfRangeException>(() => new AaClient(options).Dispose(),
                    "ServerBackoff = " + backoff);
                Assert.Equal("ServerBackoff", range.ParamName, "parameter");
            }
            // The edges are accepted: one connection, no back-off, the largest back-off, a fraction.
            foreach (TimeSpan backoff in new[] { TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.MaxValue })
            {
                AaClientOptions options = Simulator.Current.NewOptions();
                options.MaxConnections = 1;
                options.ServerBackoff = backoff;
                using (var client = new AaClient(options))
                {
                    Assert.Equal(options.BaseUrl, client.CurrentServer, "a client with ServerBackoff = " + backoff);
                }
            }
        }

        [Test]
        public void EightThreadsShareFourConnections()
        {
            WithCluster((cluster, control) =>
            {
                AaClientOptions options = ClusterOptions(cluster);
                options.MaxConnections = MaxConnections;
                using (var client = new AaClient(options))
                {
                    var servers = new ConcurrentQueue<string>();
                    var failures = new ConcurrentQueue<Exception>();
                    var workers = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
                    {
                        try
                        {
                            for (int i = 0; i < LogonsPerThread; i++)
                            {
                                servers.Enqueue(PasswordLogon(client));
                            }
                        }
                        catch (Exception e)
                        {
                            failures.Enqueue(e);
                        }
                    })).ToList();
                    workers.ForEach(worker => worker.Start());
                    foreach (Thread worker in workers)
                    {
                        Assert.True(worker.Join(HangGuard), "a worker finished (hang guard)");
                    }
                    Assert.True(failures.IsEmpty, "no logon failed: " + string.Join("; ", failures.Select(e => e.Message)));
                    Assert.Equal(Threads * LogonsPerThread, servers.Count, "logons");
                    Assert.True(servers.All(server => server == cluster.BaseUrls[0]), "every logon on the preferred server");
                    long peak = control.Counter(0, "peak_open_connections");
                    Assert.True(peak >= 1 && peak <= MaxConnections,
                        "at most " + MaxConnections + " connections open at once, got " + peak);
                }
            });
        }

        /// <summary>
        /// Runs <paramref name="test"/> against a fresh two-instance cluster, controlled through
        /// instance 1; a failure carries the cluster's log. Without an aa-sim binary to start, skips loudly (fails with AA_REQUIRE_ALL=1).
        /// </summary>
        private static void WithCluster(Action<Simulator, SimulatorControl> test)
        {
            if (Simulator.Binary == null)
            {
                const string message = "CLUSTER TEST SKIPPED: it starts a cluster of its own from AA_SIM_BIN, which is not set " +
                                       "(build it: cargo build -p aa-sim)";
                if (Environment.GetEnvironmentVariable("AA_REQUIRE_ALL") == "1")
                {
                    throw new AssertionException(message + "; AA_REQUIRE_ALL=1 makes this a failure");
                }
                Console.WriteLine(new string('!', message.Length) + "\n" + message + "\n" + new string('!', message.Length));
                return;
            }
            using (Simulator cluster = Simulator.StartCluster(2))
            {
                try
                {
                    test(cluster, new SimulatorControl(cluster, 1));
                }
                catch (Exception e)
                {
                    // The runner shows the run's simulator's log; this cluster's is the one that matters.
                    throw new AssertionException(e.GetType().Name + ": " + e.Message + "\n" + e.StackTrace +
                                                 "\ncluster log (last lines):\n" + cluster.RecentLog());
                }
            }
        }

        /// <summary>Instance 0 preferred, instance 1 as failover, a failed server skipped for the whole test.</summary>
        private static AaClientOptions ClusterOptions(Simulator cluster)
        {
            AaClientOptions options = cluster.NewOptions();
            options.FailoverUrls.Add(cluster.BaseUrls[1]);
            options.ServerBackoff = LongBackoff;
            return options;
        }

        /// <summary>A PASSWORD:1 logon of denis, which must end OK; returns the server it ended on.</summary>
        private static string PasswordLogon(AaClient client)
        {
            using (var logon = client.StartLogon(Simulator.User, Simulator.Event, "PASSWORD:1"))
            {
                Assert.Equal(LogonStatus.Ok, logon.Answer(Simulator.Password), "password verdict");
                Assert.NotEmpty(logon.LoginSessionId, "login session id");
                return logon.Server;
            }
        }
    }
}
