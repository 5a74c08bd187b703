using System;
using System.Collections.Generic;

namespace AaLogon
{
    /// <summary>
    /// How an <see cref="AaClient"/> reaches the AA server. The constructor takes what every client
    /// needs; the rest is set with an object initializer:
    /// <code>
    /// var options = new AaClientOptions("https://aa.example.com", endpointId, endpointSecret)
    /// {
    ///     CaFile = "/etc/aa/ca.pem",
    ///     RequestTimeout = TimeSpan.FromSeconds(20),
    /// };
    /// </code>
    /// TLS verification uses the operating system's trust store unless told otherwise.
    /// For an AA cluster, list the other servers in <see cref="FailoverUrls"/>.
    /// </summary>
    public sealed class AaClientOptions
    {
        /// <summary>The connect timeout the library uses when none is set.</summary>
        public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

        /// <summary>The per-request timeout the library uses when none is set.</summary>
        public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

        /// <summary>How long a server that failed is skipped when <see cref="ServerBackoff"/> is not set.</summary>
        public static readonly TimeSpan DefaultServerBackoff = TimeSpan.FromSeconds(30);

        /// <summary>The most connections a client keeps open when <see cref="MaxConnections"/> is not set.</summary>
        public const int DefaultMaxConnections = 32;

        /// <summary>Starts the options for the AA server at <paramref name="baseUrl"/> and one endpoint.</summary>
        /// <param name="baseUrl">The server's base URL, e.g. "https://aa.example.com".</param>
        /// <param name="endpointId">The endpoint id registered on the AA server.</param>
        /// <param name="endpointSecret">The endpoint's secret; keep it out of source code.</param>
        public AaClientOptions(string baseUrl, string endpointId, string endpointSecret)
        {
            if (baseUrl == null)
            {
                throw new ArgumentNullException(nameof(baseUrl));
            }
            if (endpointId == null)
            {
                throw new ArgumentNullException(nameof(endpointId));
            }
            if (endpointSecret == null)
            {
                throw new ArgumentNullException(nameof(endpointSecret));
            }
            BaseUrl = baseUrl;
            EndpointId = endpointId;
            EndpointSecret = endpointSecret;
        }

        /// <summary>The AA server's base URL: the preferred server of a cluster.</summary>
        public string BaseUrl { get; }

        /// <summary>The endpoint id.</summary>
        public string EndpointId { get; }

        internal string EndpointSecret { get; }

        /// <summary>A PEM file of CA certificates to trust in addition to the system trust store, or null.</summary>
        public string CaFile { get; set; }

        /// <summary>
        /// The hex SHA-256 of the server certificate's DER SubjectPublicKeyInfo (64 hex digits), checked
        /// in addition to normal verification; or null for no pin.
        /// </summary>
        public string PinnedPublicKeySha256 { get; set; }

        /// <summary>The connect timeout, or null for the default (<see cref="DefaultConnectTimeout"/>).</summary>
        public TimeSpan? ConnectTimeout { get; set; }

        /// <summary>The timeout of each request, or null for the default (<see cref="DefaultRequestTimeout"/>).</summary>
        public TimeSpan? RequestTimeout { get; set; }

        /// <summary>A proxy for all requests, e.g. "http://proxy:3128", or null for none.</summary>
        public string Proxy { get; set; }

        /// <summary>The User-Agent header, or null for the default ("aa-logon/&lt;version&gt;").</summary>
        public string UserAgent { get; set; }

        /// <summary>The largest server answer accepted, in bytes, or null for the default (1 MiB).</summary>
        public ulong? MaxResponseBytes { get; set; }

        /// <summary>
        /// Hosts besides the AA server's own whose U2F appIds are signed: bare host names or IP
        /// addresses (e.g. "aa-sim.local"; no scheme, port, path or wildcard). By default only
        /// appIds that are https URLs of the server's host are: a security key signs for whatever
        /// appId it is given, so a hostile server could otherwise obtain the user's assertions for
        /// other sites. A sign request with any other appId fails with
        /// <see cref="MalformedServerDataException"/> before a key is touched.
        /// </summary>
        public IList<string> AllowedAppIdHosts { get; } = new List<string>();

        /// <summary>
        /// The base URLs of the cluster's other servers, tried after <see cref="BaseUrl"/> in this
        /// order; they share its endpoint id and secret, CA file, pin and appId hosts. Each is checked
        /// like the base URL, and one already listed is refused (<see cref="MisuseException"/> with
        /// <see cref="AaStatus.InvalidArgument"/> when the client is created).
        /// </summary>
        /// <remarks>
        /// A call goes to the preferred server (a logon's calls: to the server the logon talked to
        /// last) and moves to the next one when the server cannot be reached (connect or TLS
        /// handshake failure). When it answers 502/503/504 or fails after the request was sent
        /// (timeout, reset), only calls that are safe to repeat move on: a call carrying an answer
        /// or a signature, or moving the logon to another method, goes to another server only when
        /// it provably never left for the first — repeating it could count an OTP twice — and its
        /// error then says it was not sent to the others. A server that failed is skipped for
        /// <see cref="ServerBackoff"/>. When every server fails, the exception's message names
        /// each server's failure. <see cref="AaClient.CurrentServer"/> and
        /// <see cref="AaLogon.Server"/> tell which server answered.
        /// </remarks>
        public IList<string> FailoverUrls { get; } = new List<string>();

        /// <summary>
        /// How long a server that failed is skipped before calls try it again, or null for the
        /// default (<see cref="DefaultServerBackoff"/>); <see cref="TimeSpan.Zero"/>: never skipped,
        /// every call tries the servers in order of preference. Negative values throw
        /// <see cref="ArgumentOutOfRangeException"/> when the client is created; fractions of a
        /// millisecond round up.
        /// </summary>
        public TimeSpan? ServerBackoff { get; set; }

        /// <summary>
        /// The most connections the client has open at once, in use or kept alive, over all its
        /// servers, or null for the default (<see cref="DefaultMaxConnections"/>). A call that finds
        /// them all in use waits for one, up to the request timeout (then
        /// <see cref="RequestTimeoutException"/>). Below 1 throws
        /// <see cref="ArgumentOutOfRangeException"/> when the client is created.
        /// </summary>
        public int? MaxConnections { get; set; }

        /// <summary>
        /// DANGER: signs U2F sign requests for any appId the server sends (see
        /// <see cref="AllowedAppIdHosts"/>), so a hostile or impersonated server can obtain the
        /// user's assertions for other sites. For lab setups only; the library logs a warning every
        /// time such a client is created.
        /// </summary>
        public bool DangerDisableAppIdCheck { get; set; }

        /// <summary>
        /// DANGER: turns off TLS certificate verification, so anybody on the network path can
        /// impersonate the AA server and read secrets. For lab setups only; the library logs a
        /// warning every time such a client is created.
        /// </summary>
        public bool DangerDisableTlsVerification { get; set; }

        /// <summary>Builds the native options; the caller disposes them.</summary>
        internal ClientOptionsHandle CreateNative()
        {
            // Values the C API cannot express are refused before any native object exists.
            ulong? backoffMs = ServerBackoff.HasValue ? BackoffMilliseconds(ServerBackoff.Value) : (ulong?)null;
            if (MaxConnections.HasValue && MaxConnections.Value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections.Value,
                    "A client needs at least one connection.");
            }
            LibraryLoader.EnsureLoaded();
            byte[] secret = Utf8.Encode(EndpointSecret, nameof(EndpointSecret));
            ClientOptionsHandle options;
            IntPtr error;
            AaStatus status;
            try
            {
                status = NativeMethods.aa_client_options_new(Utf8.Encode(BaseUrl, nameof(BaseUrl)),
                    Utf8.Encode(EndpointId, nameof(EndpointId)), secret, out options, out error);
            }
            finally
            {
                Utf8.Wipe(secret);
            }
            Interop.Created(status, options, error);
            try
            {
                Apply(options, backoffMs);
                return options;
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }

        private void Apply(ClientOptionsHandle options, ulong? backoffMs)
        {
            IntPtr error;
            SetString(options, NativeMethods.aa_client_options_set_ca_file, CaFile, nameof(CaFile));
            SetString(options, NativeMethods.aa_client_options_set_pinned_public_key, PinnedPublicKeySha256,
                nameof(PinnedPublicKeySha256));
            if (ConnectTimeout.HasValue || RequestTimeout.HasValue)
            {
                uint connectMs = ToMilliseconds(ConnectTimeout ?? DefaultConnectTimeout, nameof(ConnectTimeout));
                uint requestMs = ToMilliseconds(RequestTimeout ?? DefaultRequestTimeout, nameof(RequestTimeout));
                Interop.Check(NativeMethods.aa_client_options_set_timeouts(options, connectMs, requestMs, out error), error);
            }
            SetString(options, NativeMethods.aa_client_options_set_proxy, Proxy, nameof(Proxy));
            SetString(options, NativeMethods.aa_client_options_set_user_agent, UserAgent, nameof(UserAgent));
            if (MaxResponseBytes.HasValue)
            {
                Interop.Check(NativeMethods.aa_client_options_set_max_response_bytes(options, MaxResponseBytes.Value,
                    out error), error);
            }
            if (DangerDisableTlsVerification)
            {
                Interop.Check(NativeMethods.aa_client_options_danger_disable_tls_verification(options, out error), error);
            }
            foreach (string host in AllowedAppIdHosts)
            {
                if (host == null)
                {
                    throw new ArgumentNullException(nameof(AllowedAppIdHosts), "An allowed appId host is null.");
                }
                SetString(options, NativeMethods.aa_client_options_allow_app_id_host, host, nameof(AllowedAppIdHosts));
            }
            if (DangerDisableAppIdCheck)
            {
                Interop.Check(NativeMethods.aa_client_options_danger_disable_app_id_check(options, out error), error);
            }
            foreach (string url in FailoverUrls)
            {
                if (url == null)
                {
                    throw new ArgumentNullException(nameof(FailoverUrls), "A failover URL is null.");
                }
                SetString(options, NativeMethods.aa_client_options_add_failover_url, url, nameof(FailoverUrls));
            }
            if (backoffMs.HasValue)
            {
                Interop.Check(NativeMethods.aa_client_options_set_server_backoff_ms(options, backoffMs.Value, out error),
                    error);
            }
            if (MaxConnections.HasValue)
            {
                Interop.Check(NativeMethods.aa_client_options_set_max_connections(options, (uint)MaxConnections.Value,
                    out error), error);
            }
        }

        /// <summary>
        /// A back-off in whole milliseconds, rounded up (so that a positive one never becomes 0,
        /// which means "never skipped").
        /// </summary>
        private static ulong BackoffMilliseconds(TimeSpan backoff)
        {
            if (backoff < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(ServerBackoff), backoff, "The back-off cannot be negative.");
            }
            long ticks = backoff.Ticks;
            return (ulong)(ticks / TimeSpan.TicksPerMillisecond) + (ticks % TimeSpan.TicksPerMillisecond == 0 ? 0UL : 1UL);
        }

        /// <summary>Sets one string option, unless it is null (the library's default then holds).</summary>
        private static void SetString(ClientOptionsHandle options, StringSetter setter, string value, string name)
        {
            if (value != null)
            {
                IntPtr error;
                Interop.Check(setter(options, Utf8.Encode(value, name), out error), error);
            }
        }

        /// <summary>A positive timeout in whole milliseconds, as the C API takes it.</summary>
        internal static uint ToMilliseconds(TimeSpan timeout, string name)
        {
            double ms = Math.Ceiling(timeout.TotalMilliseconds);
            if (ms <= 0 || ms > uint.MaxValue)
            {
                throw new ArgumentOutOfRangeException(name, timeout, "The timeout must be positive and at most 49 days.");
            }
            return (uint)ms;
        }

        private delegate AaStatus StringSetter(ClientOptionsHandle options, byte[] value, out IntPtr error);
    }
}
