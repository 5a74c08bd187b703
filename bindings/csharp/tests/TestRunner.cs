using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using AaLogon.Testing;

namespace AaLogon.Tests
{
    /// <summary>Marks a test method: public, static or instance, no parameters.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class TestAttribute : Attribute
    {
    }

    /// <summary>A failed expectation.</summary>
    internal sealed class AssertionException : Exception
    {
        internal AssertionException(string message) : base(message)
        {
        }
    }

    internal static class Assert
    {
        internal static void True(bool condition, string what)
        {
            if (!condition)
            {
                throw new AssertionException("expected: " + what);
            }
        }

        internal static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionException(what + ": expected <" + expected + ">, got <" + actual + ">");
            }
        }

        internal static void NotEmpty(string value, string what)
        {
            if (string.IsNullOrEmpty(value))
            {
                throw new AssertionException(what + ": expected a non-empty string, got <" + (value ?? "null") + ">");
            }
        }

        /// <summary>Runs <paramref name="action"/> and returns the exception of exactly type <typeparamref name="T"/> it throws.</summary>
        internal static T Throws<T>(Action action, string what) where T : Exception
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                if (e.GetType() == typeof(T))
                {
                    return (T)e;
                }
                throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " +
                                             e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }
    }

    /// <summary>
    /// The simulator this run tests against: started from AA_SIM_BIN (HTTPS on a free loopback
    /// port, its CA written to a temporary file), or an already running one given by AA_TEST_URL
    /// and AA_TEST_CA_FILE. Tests that need a cluster of their own start one from AA_SIM_BIN with
    /// <see cref="StartCluster"/>.
    /// </summary>
    internal sealed class Simulator : IDisposable
    {
        internal const string EndpointId = "178fa64ebafe11eaa1fb0242ac110003";
        internal const string EndpointSecret = "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt";
        internal const string User = "JAGUAR\\denis";
        internal const string Password = "novell";
        internal const string Event = "Search Card";
        /// <summary>The host of the demo fixture's U2F App ID (https://aa-sim.local), not the server's.</summary>
        internal const string AppIdHost = "aa-sim.local";

        private readonly Process _process;
        private readonly string _ownedCaFile;
        private readonly Queue<string> _log = new Queue<string>();
        private VirtualKey _demoKey;

        private Simulator(string baseUrl, string caFile, Process process, string ownedCaFile)
        {
            BaseUrl = baseUrl;
            BaseUrls = new[] { baseUrl };
            CaFile = caFile;
            _process = process;
            _ownedCaFile = ownedCaFile;
        }

        internal static Simulator Current { get; private set; }

        /// <summary>Instance 0's base URL (the only one, unless started by <see cref="StartCluster"/>).</summary>
        internal string BaseUrl { get; private set; }

        /// <summary>Every instance's base URL, instance 0's first.</summary>
        internal IReadOnlyList<string> BaseUrls { get; private set; }

        internal string CaFile { get; }

        /// <summary>The aa-sim binary given by AA_SIM_BIN, or null when there is none.</summary>
        internal static string Binary
        {
            get
            {
                string bin = Environment.GetEnvironmentVariable("AA_SIM_BIN");
                return !string.IsNullOrEmpty(bin) && File.Exists(bin) ? bin : null;
            }
        }

        internal static Simulator Start()
        {
            string url = Environment.GetEnvironmentVariable("AA_TEST_URL");
            string ca = Environment.GetEnvironmentVariable("AA_TEST_CA_FILE");
            if (!string.IsNullOrEmpty(url) && !string.IsNullOrEmpty(ca))
            {
                return Current = new Simulator(url, ca, null, null);
            }
            if (Binary == null)
            {
                throw new InvalidOperationException(
                    "set AA_SIM_BIN to the aa-sim binary (target/<profile>/aa-sim), or AA_TEST_URL and AA_TEST_CA_FILE " +
                    "to a running simulator");
            }
            return Current = Launch(Binary, 1);
        }

        /// <summary>
        /// A fresh process of <see cref="Binary"/> serving a cluster of <paramref name="instances"/>
        /// servers that share one state, for a test to take down and dispose; not <see cref="Current"/>.
        /// </summary>
        internal static Simulator StartCluster(int instances)
        {
            if (Binary == null)
            {
                throw new InvalidOperationException("a cluster needs AA_SIM_BIN, the aa-sim binary");
            }
            return Launch(Binary, instances);
        }

        /// <summary>
        /// Starts <paramref name="bin"/> and reads the URLs it prints: instance 0's bare on the first
        /// line, then "aa-sim instance I listening on URL" for each further instance.
        /// </summary>
        private static Simulator Launch(string bin, int instances)
        {
            string caFile = Path.Combine(Path.GetTempPath(), "aa-csharp-ca-" + Guid.NewGuid().ToString("N") + ".pem");
            string arguments = "--listen 127.0.0.1:0 --ca-out \"" + caFile + "\"" +
                               (instances > 1 ? " --instances " + instances : "");
            var info = new ProcessStartInfo(bin, arguments)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            Process process = Process.Start(info);
            var simulator = new Simulator(null, caFile, process, caFile);
            process.ErrorDataReceived += (sender, e) => simulator.Remember(e.Data);
            process.BeginErrorReadLine();
            string first = process.StandardOutput.ReadLine();
            if (string.IsNullOrEmpty(first) || !first.StartsWith("https://", StringComparison.Ordinal))
            {
                simulator.Dispose();
                throw new InvalidOperationException("aa-sim did not print its URL (got <" + first + ">); its log:\n" +
                                                    simulator.RecentLog());
            }
            var urls = new List<string> { first.Trim() };
            for (int index = 1; index < instances; index++)
            {
                string prefix = "aa-sim instance " + index + " listening on ";
                string line = process.StandardOutput.ReadLine();
                if (line == null || !line.StartsWith(prefix + "https://", StringComparison.Ordinal))
                {
                    simulator.Dispose();
                    throw new InvalidOperationException("aa-sim did not print instance " + index + "'s URL (got <" +
                                                        line + ">); its log:\n" + simulator.RecentLog());
                }
                urls.Add(line.Substring(prefix.Length).Trim());
            }
            // Nothing else is expected on stdout, but a full pipe must never block the simulator.
            var drain = new Thread(() => process.StandardOutput.ReadToEnd()) { IsBackground = true };
            drain.Start();
            simulator.BaseUrl = urls[0];
            simulator.BaseUrls = urls;
            return simulator;
        }

        /// <summary>
        /// Plugs the run's one key of seed "demo" (enrolled for denis) into <paramref name="client"/>,
        /// touched as <paramref name="presence"/> says (at once by default). One key for the whole
        /// run, because the simulator, like a real server, rejects a signature counter that does not
        /// grow, and every new key starts at zero.
        /// </summary>
        internal VirtualKey AttachDemoKey(AaClient client, Presence presence = Presence.Always)
        {
            VirtualKey key = DemoKey(presence);
            key.AttachTo(client);
            return key;
        }

        /// <summary>The run's one key of seed "demo" (see <see cref="AttachDemoKey"/>), touched as <paramref name="presence"/> says.</summary>
        internal VirtualKey DemoKey(Presence presence = Presence.Always)
        {
            if (_demoKey == null)
            {
                _demoKey = new VirtualKey("demo");
            }
            _demoKey.SetPresence(presence);
            return _demoKey;
        }

        /// <summary>A client of the simulator, trusting its CA and signing for its App ID.</summary>
        internal AaClient NewClient()
        {
            return new AaClient(NewOptions());
        }

        /// <summary>The options of <see cref="NewClient"/>, to adjust.</summary>
        internal AaClientOptions NewOptions()
        {
            return new AaClientOptions(BaseUrl, EndpointId, EndpointSecret) { CaFile = CaFile, AllowedAppIdHosts = { AppIdHost } };
        }

        internal string RecentLog()
        {
            lock (_log)
            {
                return string.Join("\n", _log);
            }
        }

        private void Remember(string line)
        {
            if (line == null)
            {
                return;
            }
            lock (_log)
            {
                _log.Enqueue(line);
                while (_log.Count > 50)
                {
                    _log.Dequeue();
                }
            }
        }

        public void Dispose()
        {
            if (_demoKey != null)
            {
                _demoKey.Dispose();
            }
            if (_process != null)
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
            }
            if (_ownedCaFile != null && File.Exists(_ownedCaFile))
            {
                File.Delete(_ownedCaFile);
            }
        }
    }

    /// <summary>
    /// Runs every [Test] method of this assembly against the real library and simulator, prints
    /// one line per test and "N passed, N failed", and exits non-zero on any failure.
    /// </summary>
    internal static class TestRunner
    {
        private static int Main(string[] args)
        {
            string version;
            try
            {
                version = AaLibrary.Version;
            }
            catch (DllNotFoundException e)
            {
                // The binding's message names every place the runtime looked.
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            Console.WriteLine("aa_logon " + version + " on " + (Type.GetType("Mono.Runtime") != null ? "mono" : ".NET"));

            var tests = typeof(TestRunner).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static |
                                              BindingFlags.Instance | BindingFlags.DeclaredOnly))
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .OrderBy(m => m.DeclaringType.Name, StringComparer.Ordinal)
                .ThenBy(m => m.MetadataToken)
                .ToList();
            string filter = args.Length > 0 ? args[0] : null;

            int passed = 0, failed = 0;
            Simulator simulator;
            try
            {
                simulator = Simulator.Start();
            }
            catch (Exception e)
            {
                Console.WriteLine("cannot start the simulator: " + e.Message);
                Console.WriteLine("0 passed, 1 failed");
                return 1;
            }
            using (simulator)
            {
                foreach (MethodInfo test in tests)
                {
                    string name = test.DeclaringType.Name + "." + test.Name;
                    if (filter != null && name.IndexOf(filter, StringComparison.OrdinalIgnoreCase) < 0)
                    {
                        continue;
                    }
                    var watch = Stopwatch.StartNew();
                    try
                    {
                        object target = test.IsStatic ? null : Activator.CreateInstance(test.DeclaringType, true);
                        test.Invoke(target, null);
                        passed++;
                        Console.WriteLine("PASS " + name + " (" + watch.ElapsedMilliseconds + " ms)");
                    }
                    catch (TargetInvocationException e)
                    {
                        failed++;
                        Exception cause = e.InnerException ?? e;
                        Console.WriteLine("FAIL " + name + " (" + watch.ElapsedMilliseconds + " ms): " +
                                          cause.GetType().Name + ": " + cause.Message);
                        if (!(cause is AssertionException))
                        {
                            Console.WriteLine(cause.StackTrace);
                        }
                    }
                }
                if (failed > 0)
                {
                    Console.WriteLine("simulator log (last lines):\n" + simulator.RecentLog());
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
