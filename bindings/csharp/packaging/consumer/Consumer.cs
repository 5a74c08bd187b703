// A program that uses the AaLogon and AaLogon.Testing NuGet packages the way an application's test
// does: it logs the simulator's demo user on with a virtual key whose signature counter is kept in
// a state file, so that successive runs against one simulator keep succeeding. Built and run by
// libaa_logon/tests/packaging_nuget.rs against packages restored from a local folder feed.
//
//   mono Consumer.exe URL CA_FILE STATE_FILE     prints "OK <counter>", exit 0 on a logon
using System;
using AaLogon;
using AaLogon.Testing;

internal static class Consumer
{
    private static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: Consumer.exe URL CA_FILE STATE_FILE");
            return 2;
        }
        var options = new AaClientOptions(args[0], "178fa64ebafe11eaa1fb0242ac110003", "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt")
        {
            CaFile = args[1],
            AllowedAppIdHosts = { "aa-sim.local" },
        };
        using (var client = new AaClient(options))
        using (var key = new VirtualKey("demo", args[2]))
        {
            key.AttachTo(client);
            using (var logon = client.StartLogon("JAGUAR\\denis", "Search Card", "U2F:1"))
            {
                LogonStatus status = logon.SignWithDevice(TimeSpan.FromSeconds(30));
                Console.WriteLine((status == LogonStatus.Ok ? "OK " : status + " ") + key.Counter);
                return status == LogonStatus.Ok ? 0 : 1;
            }
        }
    }
}
