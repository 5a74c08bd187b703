// Logon.cs — log a user on to NetIQ / OpenText Advanced Authentication with a U2F security key.
//
//   mcs -out:Logon.exe -r:AaLogon.dll Logon.cs            (or add it to a project referencing AaLogon.csproj)
//   export AA_ENDPOINT_SECRET=...                          (never on the command line: it would show in `ps`)
//   mono Logon.exe https://aa.example.com 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\denis' [event] [first method] [CA file]
//
// libaa_logon.so (aa_logon.dll on Windows) must be on the library search path or next to the
// program. Ctrl+C while waiting for the key cancels the wait cleanly.
using System;
using System.Linq;
using System.Text;
using System.Threading;
using AaLogon;

internal static class LogonExample
{
    private static int Main(string[] args)
    {
        if (args.Length < 3 || args.Length > 6)
        {
            Console.Error.WriteLine("usage: Logon.exe URL ENDPOINT_ID USER [EVENT] [FIRST_METHOD] [CA_FILE]");
            Console.Error.WriteLine("The endpoint secret is read from the environment variable AA_ENDPOINT_SECRET.");
            return 2;
        }
        string secret = Environment.GetEnvironmentVariable("AA_ENDPOINT_SECRET");
        if (string.IsNullOrEmpty(secret))
        {
            Console.Error.WriteLine("error: set AA_ENDPOINT_SECRET to the endpoint's secret");
            return 2;
        }
        string url = args[0], endpointId = args[1], user = args[2];
        string eventName = args.Length > 3 ? args[3] : "Search Card";
        string firstMethod = args.Length > 4 ? args[4] : "U2F:1";

        var options = new AaClientOptions(url, endpointId, secret)
        {
            CaFile = args.Length > 5 ? args[5] : null, // null: the system trust store only
        };
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
                            status = logon.SignWithDevice(TimeSpan.FromSeconds(30), ShowPrompt, interrupted.Token);
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
                    Console.WriteLine("Welcome, " + logon.GetUserField("user_name") + " (id " + logon.GetUserField("user_id") + ")");
                    Console.WriteLine("login session: " + logon.LoginSessionId);
                    return 0;
                }
            }
            catch (CancelledException)
            {
                Console.Error.WriteLine("cancelled");
            }
            catch (AaException error)
            {
                // The message is complete; Status, Msgid, Reason and HttpStatus are there for code.
                Console.Error.WriteLine("error: " + error.Message);
            }
            catch (DllNotFoundException error)
            {
                Console.Error.WriteLine("cannot load libaa_logon: " + error.Message);
            }
            return 1;
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
