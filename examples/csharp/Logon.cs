// Logon.cs — log a user on to NetIQ / OpenText Advanced Authentication with a U2F security key.
//
//   mcs -out:Logon.exe -r:AaLogon.dll Logon.cs            (or add it to a project referencing AaLogon.csproj)
//   export AA_ENDPOINT_SECRET=...                          (never on the command line: it would show in `ps`)
//   mono Logon.exe https://aa.example.com 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis'
//   mono Logon.exe --failover-url https://aa2.example.com https://aa1.example.com ...   (a cluster)
//
// Without a key, against the simulator (docs/testing-without-a-key.md): the test-only virtual key
// of libaa_logon_testkit, the simulator's CA and its appId host:
//
//   mono Logon.exe --ca-file /tmp/aa-sim-ca.pem --allow-app-id-host aa-sim.local --virtual-key demo \
//       https://127.0.0.1:8443 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis'
//
// libaa_logon.so (aa_logon.dll on Windows) must be on the library search path or next to the
// program; --virtual-key also needs libaa_logon_testkit.so. Ctrl+C while waiting for the key
// cancels the wait cleanly. Exit status: 0 logged on, 1 failed, 2 usage.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using AaLogon;
using AaLogon.Testing;

internal static class LogonExample
{
    private const string Usage =
        "usage: Logon.exe [OPTIONS] URL ENDPOINT_ID USER\n" +
        "  --event EVENT             authentication event (default: Search Card)\n" +
        "  --method METHOD           first method of the chain (default: U2F:1)\n" +
        "  --ca-file PEM             trust this CA file in addition to the system trust store\n" +
        "  --allow-app-id-host HOST  sign U2F requests whose appId names HOST (repeatable)\n" +
        "  --failover-url URL        another server of URL's AA cluster (repeatable), tried in\n" +
        "                            order when URL cannot be reached or answers 502/503/504\n" +
        "  --virtual-key SEED        use the test-only virtual key SEED instead of USB keys\n" +
        "The endpoint secret is read from the environment variable AA_ENDPOINT_SECRET.";

    private static int Main(string[] args)
    {
        var positional = new List<string>();
        string eventName = "Search Card", firstMethod = "U2F:1", caFile = null, virtualKey = null;
        var appIdHosts = new List<string>();
        var failoverUrls = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(args[i]);
                continue;
            }
            if (i + 1 == args.Length)
            {
                Console.Error.WriteLine(args[i] + " needs a value\n" + Usage);
                return 2;
            }
            string value = args[++i];
            switch (args[i - 1])
            {
                case "--event": eventName = value; break;
                case "--method": firstMethod = value; break;
                case "--ca-file": caFile = value; break;
                case "--allow-app-id-host": appIdHosts.Add(value); break;
                case "--failover-url": failoverUrls.Add(value); break;
                case "--virtual-key": virtualKey = value; break;
                default:
                    Console.Error.WriteLine("unknown option " + args[i - 1] + "\n" + Usage);
                    return 2;
            }
        }
        if (positional.Count != 3)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        string secret = Environment.GetEnvironmentVariable("AA_ENDPOINT_SECRET");
        if (string.IsNullOrEmpty(secret))
        {
            Console.Error.WriteLine("error: set AA_ENDPOINT_SECRET to the endpoint's secret");
            return 2;
        }
        string url = positional[0], endpointId = positional[1], user = positional[2];

        var options = new AaClientOptions(url, endpointId, secret)
        {
            CaFile = caFile, // null: the system trust store only
        };
        foreach (string host in appIdHosts)
        {
            options.AllowedAppIdHosts.Add(host);
        }
        foreach (string failoverUrl in failoverUrls)
        {
            options.FailoverUrls.Add(failoverUrl); // the cluster's other servers, in order of preference
        }
        using (var interrupted = new CancellationTokenSource())
        {
            Console.CancelKeyPress += (sender, e) =>
            {
                e.Cancel = true; // keep the process alive; SignWithDevice returns with CancelledException
                interrupted.Cancel();
            };
            try
            {
                using (var client = new AaClient(options))
                {
                    if (virtualKey != null)
                    {
                        AttachVirtualKey(client, virtualKey);
                    }
                    return RunLogon(client, user, eventName, firstMethod, interrupted.Token);
                }
            }
            catch (CancelledException)
            {
                Console.Error.WriteLine("cancelled");
            }
            catch (AaException error)
            {
                // The message is complete (what failed, the server's msgid and reason, what to
                // try); Status, Msgid, Reason and HttpStatus are there for code that acts on them.
                Console.Error.WriteLine("error: " + error.Message);
            }
            catch (DllNotFoundException error)
            {
                Console.Error.WriteLine("cannot load libaa_logon: " + error.Message);
            }
            catch (NotSupportedException error)
            {
                Console.Error.WriteLine("cannot use the virtual key: " + error.Message);
            }
            return 1;
        }
    }

    /// <summary>
    /// Makes the client's logons use the test-only virtual key of <paramref name="seed"/> instead
    /// of USB keys (through the public HID transport, aa_client_set_hid_io).
    /// </summary>
    private static void AttachVirtualKey(AaClient client, string seed)
    {
        using (var key = new VirtualKey(seed))
        {
            key.AttachTo(client); // stays plugged into the client after the handle is disposed
        }
    }

    /// <summary>Runs the logon, method after method, until the server's verdict.</summary>
    private static int RunLogon(AaClient client, string user, string eventName, string firstMethod,
        CancellationToken interrupted)
    {
        using (var logon = client.StartLogon(user, eventName, firstMethod))
        {
            LogonStatus status = logon.Status;
            while (status == LogonStatus.MoreData || status == LogonStatus.Next)
            {
                if (status == LogonStatus.Next)
                {
                    Console.Error.WriteLine(logon.CompletedMethods.Last() + " passed");
                    status = logon.Next(NextMethod(logon));
                }
                else if (logon.CurrentMethod == "U2F:1")
                {
                    status = logon.SignWithDevice(TimeSpan.FromSeconds(30), ShowPrompt, interrupted);
                }
                else if (logon.CurrentMethod.Contains("PASSWORD"))
                {
                    status = logon.Answer(ReadPassword(logon.CurrentMethod));
                }
                else
                {
                    Console.Error.WriteLine(logon.CurrentMethod + " is not supported by this example");
                    return 1;
                }
            }
            if (status != LogonStatus.Ok)
            {
                Console.Error.WriteLine("logon ended with " + status + ": " + logon.Message);
                return 1;
            }
            Console.WriteLine("Welcome, " + logon.GetUserField("user_name") + " (id " + logon.GetUserField("user_id") + ")");
            Console.WriteLine("login session: " + logon.LoginSessionId);
            Console.WriteLine("server: " + logon.Server); // with --failover-url: the one that answered
            return 0;
        }
    }

    /// <summary>Tells the user what to do while the library waits for the key.</summary>
    private static void ShowPrompt(Prompt prompt)
    {
        switch (prompt)
        {
            case Prompt.InsertKey:
                Console.Error.WriteLine("Insert your security key...");
                break;
            case Prompt.TouchKey:
                Console.Error.WriteLine("Touch your security key...");
                break;
            case Prompt.Touched:
                Console.Error.WriteLine("Key touched, checking with the server...");
                break;
        }
    }

    /// <summary>The method after the completed ones in the chain the server is running.</summary>
    private static string NextMethod(AaLogon.AaLogon logon)
    {
        var done = logon.CompletedMethods;
        foreach (Chain chain in logon.Chains)
        {
            if (chain.Methods.Count > done.Count && chain.Methods.Take(done.Count).SequenceEqual(done))
            {
                return chain.Methods[done.Count];
            }
        }
        throw new InvalidOperationException("no chain continues after " + string.Join(", ", done));
    }

    /// <summary>Reads a password from the console without echoing it.</summary>
    private static string ReadPassword(string method)
    {
        Console.Error.Write(method + " password: ");
        if (Console.IsInputRedirected)
        {
            string line = Console.ReadLine();
            Console.Error.WriteLine();
            return line ?? "";
        }
        var password = new StringBuilder();
        while (true)
        {
            ConsoleKeyInfo key = Console.ReadKey(true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return password.ToString();
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (password.Length > 0)
                {
                    password.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
    }
}
