using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace AaLogon.Tests
{
    /// <summary>
    /// The /sim/v1/instances routes of a simulator cluster, over HTTPS on loopback: outages and
    /// per-instance counters. Every request goes to one instance (<c>via</c>), so that taking
    /// another one down never cuts the control channel, and so that its own connections never
    /// count against the instance under test.
    /// </summary>
    internal sealed class SimulatorControl
    {
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

        private readonly string _baseUrl;
        private readonly byte[] _caDer;

        internal SimulatorControl(Simulator cluster, int via)
        {
            _baseUrl = cluster.BaseUrls[via];
            _caDer = ReadPemCertificate(cluster.CaFile);
        }

        /// <summary>Takes instance <paramref name="index"/> down: "refuse", "reset", "unavailable" or "hang".</summary>
        internal void SetOutage(int index, string kind)
        {
            Send("POST", "instances/" + index + "/outage", "{\"kind\":\"" + kind + "\"}");
        }

        /// <summary>Brings instance <paramref name="index"/> back.</summary>
        internal void Restore(int index)
        {
            Send("DELETE", "instances/" + index + "/outage", null);
        }

        /// <summary>
        /// A counter of instance <paramref name="index"/> from GET /sim/v1/instances
        /// ("requests", "connections_accepted", "open_connections", "peak_open_connections").
        /// </summary>
        internal long Counter(int index, string name)
        {
            string answer = Send("GET", "instances", null);
            // The answer is an array of flat objects, one per instance.
            Match instance = Regex.Matches(answer, "\\{[^{}]*\\}").Cast<Match>()
                .FirstOrDefault(m => Regex.IsMatch(m.Value, "\"index\"\\s*:\\s*" + index + "\\s*[,}]"));
            if (instance == null)
            {
                throw new AssertionException("no instance " + index + " in " + answer);
            }
            Match counter = Regex.Match(instance.Value, "\"" + Regex.Escape(name) + "\"\\s*:\\s*(\\d+)");
            if (!counter.Success)
            {
                throw new AssertionException("no counter " + name + " in " + instance.Value);
            }
            return long.Parse(counter.Groups[1].Value);
        }

        private string Send(string method, string route, string jsonBody)
        {
            var request = (HttpWebRequest)WebRequest.Create(_baseUrl + "/sim/v1/" + route);
            request.Method = method;
            request.Proxy = null; // loopback only, whatever the environment's proxy settings
            request.KeepAlive = false;
            request.Timeout = (int)HangGuard.TotalMilliseconds;
            request.ReadWriteTimeout = (int)HangGuard.TotalMilliseconds;
            request.ServerCertificateValidationCallback = IsTheSimulator;
            if (jsonBody != null)
            {
                byte[] body = Encoding.UTF8.GetBytes(jsonBody);
                request.ContentType = "application/json";
                request.ContentLength = body.Length;
                using (Stream stream = request.GetRequestStream())
                {
                    stream.Write(body, 0, body.Length);
                }
            }
            try
            {
                using (var response = (HttpWebResponse)request.GetResponse())
                {
                    return ReadBody(response);
                }
            }
            catch (WebException e)
            {
                var response = e.Response as HttpWebResponse;
                string detail = response == null ? e.Message : (int)response.StatusCode + " " + ReadBody(response);
                throw new AssertionException(method + " " + request.RequestUri + " failed: " + detail);
            }
        }

        private static string ReadBody(HttpWebResponse response)
        {
            using (var reader = new StreamReader(response.GetResponseStream(), Encoding.UTF8))
            {
                return reader.ReadToEnd();
            }
        }

        /// <summary>
        /// Whether the server is this cluster's simulator: its chain ends in the cluster's CA. Mono
        /// cannot check the simulator's ECDSA certificate itself (X509Chain.Build fails on the key
        /// type), so the CA is recognized by its bytes — enough to be sure, on loopback, that the
        /// requests reach the process this test started and no other.
        /// </summary>
        private bool IsTheSimulator(object sender, X509Certificate certificate, X509Chain chain, SslPolicyErrors errors)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }
            if (errors != SslPolicyErrors.RemoteCertificateChainErrors || chain == null || chain.ChainElements.Count < 2)
            {
                return false;
            }
            byte[] root = chain.ChainElements[chain.ChainElements.Count - 1].Certificate.RawData;
            return root.SequenceEqual(_caDer);
        }

        private static byte[] ReadPemCertificate(string path)
        {
            const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
            string pem = File.ReadAllText(path);
            int start = pem.IndexOf(begin, StringComparison.Ordinal);
            int stop = start < 0 ? -1 : pem.IndexOf(end, start, StringComparison.Ordinal);
            if (stop < 0)
            {
                throw new InvalidOperationException(path + " holds no PEM certificate");
            }
            string base64 = pem.Substring(start + begin.Length, stop - start - begin.Length);
            return Convert.FromBase64String(Regex.Replace(base64, "\\s", ""));
        }
    }
}
