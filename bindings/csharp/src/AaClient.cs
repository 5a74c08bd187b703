using System;
using System.Collections.Generic;

namespace AaLogon
{
    /// <summary>
    /// A client of one AA server, or of the servers of one cluster
    /// (<see cref="AaClientOptions.FailoverUrls"/>), for one endpoint. Thread-safe: any number of
    /// threads may start logons and make calls on one client at once. It keeps its HTTPS
    /// connections alive between calls (at most <see cref="AaClientOptions.MaxConnections"/>), so
    /// create one and reuse it. Logons started from it keep working after it is disposed.
    /// </summary>
    public sealed class AaClient : IDisposable
    {
        private readonly ClientHandle _handle;

        // Guards the client's device source: the transport set last, and the testkit's device set
        // that VirtualKey.AttachTo plugs keys into (created on the first attach, owned by the client).
        private readonly object _devicesLock = new object();
        private Testing.VirtualDevices _virtualDevices;
        private bool _ownsVirtualDevices;

        /// <summary>
        /// Creates a client. No network traffic happens yet: the endpoint session is created on first use.
        /// </summary>
        /// <exception cref="ConfigurationException">The options are not usable (URL, CA file, pin, proxy…).</exception>
        /// <exception cref="MisuseException">An option has a value the library does not allow.</exception>
        public AaClient(AaClientOptions options)
        {
            if (options == null)
            {
                throw new ArgumentNullException(nameof(options));
            }
            using (ClientOptionsHandle native = options.CreateNative())
            {
                ClientHandle client;
                IntPtr error;
                AaStatus status = NativeMethods.aa_client_new(native, out client, out error);
                _handle = Interop.Created(status, client, error);
            }
        }

        /// <summary>The native handle, for calls of this assembly; throws once disposed.</summary>
        internal ClientHandle Handle
        {
            get { return _handle.OrDisposed(nameof(AaClient)); }
        }

        /// <summary>
        /// The base URL of the server that answered the client's last call; before any call, the
        /// preferred one (<see cref="AaClientOptions.BaseUrl"/>). With failover URLs, where calls go
        /// now: it changes when a server fails and another answers.
        /// </summary>
        public string CurrentServer
        {
            get
            {
                ClientHandle handle = Handle;
                return Interop.GetString((out IntPtr value, out IntPtr error) =>
                    NativeMethods.aa_client_current_server(handle, out value, out error));
            }
        }

        /// <summary>
        /// Starts a logon of <paramref name="userName"/> at <paramref name="eventName"/> with the
        /// chain's first method (POST /api/v1/logon). Dispose the returned logon when done.
        /// </summary>
        /// <param name="userName">The user, e.g. "JAGUAR\denis" or a bare name.</param>
        /// <param name="eventName">The AA event, e.g. "Search Card".</param>
        /// <param name="methodId">The chain's first method, e.g. "U2F:1" or "LDAP_PASSWORD:1".</param>
        /// <exception cref="ServerException">The server refused, e.g. HTTP 400 AUCORE-1056 for an unknown user.</exception>
        /// <exception cref="NetworkException">The server could not be reached (or TLS failed).</exception>
        public AaLogon StartLogon(string userName, string eventName, string methodId)
        {
            byte[] user = Utf8.Encode(userName, nameof(userName));
            byte[] evt = Utf8.Encode(eventName, nameof(eventName));
            byte[] method = Utf8.Encode(methodId, nameof(methodId));
            LogonHandle logon;
            IntPtr error;
            AaStatus status = NativeMethods.aa_logon_new(Handle, user, evt, method, out logon, out error);
            return new AaLogon(Interop.Created(status, logon, error));
        }

        /// <summary>The chains <paramref name="userName"/> may use for <paramref name="eventName"/>.</summary>
        public UserChains GetChains(string userName, string eventName)
        {
            var obj = Json.AsObject(Json.Parse(GetChainsJson(userName, eventName)), "the chains answer");
            return new UserChains(Json.GetList(obj, "chains", Chain.FromJson),
                Json.GetBoolean(obj, "user_is_locked", false));
        }

        /// <summary>
        /// The chains answer exactly as the server sent it:
        /// <c>{"chains":[{"name":…,"methods":[…]},…],"user_is_locked":false}</c>.
        /// </summary>
        public string GetChainsJson(string userName, string eventName)
        {
            byte[] user = Utf8.Encode(userName, nameof(userName));
            byte[] evt = Utf8.Encode(eventName, nameof(eventName));
            ClientHandle handle = Handle;
            return Interop.GetString((out IntPtr value, out IntPtr error) =>
                NativeMethods.aa_client_chains_json(handle, user, evt, out value, out error));
        }

        /// <summary>Information about a login session (user, event, creation time, chain).</summary>
        /// <exception cref="ServerException">The session is unknown or expired.</exception>
        public LoginSession GetLoginSession(string loginSessionId)
        {
            byte[] id = Utf8.Encode(loginSessionId, nameof(loginSessionId));
            ClientHandle handle = Handle;
            string json = Interop.GetString((out IntPtr value, out IntPtr error) =>
                NativeMethods.aa_client_login_session_json(handle, id, out value, out error));
            return LoginSession.FromJson(json);
        }

        /// <summary>Ends a login session (logout).</summary>
        /// <exception cref="ServerException">HTTP 434: the session is unknown or expired.</exception>
        public void Logout(string loginSessionId)
        {
            byte[] id = Utf8.Encode(loginSessionId, nameof(loginSessionId));
            IntPtr error;
            Interop.Check(NativeMethods.aa_client_logout(Handle, id, out error), error);
        }

        /// <summary>
        /// Makes the client reach its security keys through <paramref name="transport"/> instead of
        /// the operating system's USB HID devices, for every later sign and device listing of the
        /// client and of the logons started from it (a sign already running keeps its devices).
        /// Null switches back to USB HID. Replaces the virtual keys attached with
        /// <see cref="Testing.VirtualKey.AttachTo"/>, if any.
        /// </summary>
        /// <remarks>
        /// The transport is kept reachable until the library releases it — when neither the client
        /// nor any of its logons or open devices uses it any more — and then told so through
        /// <see cref="HidTransport"/>'s OnReleased.
        /// </remarks>
        public void SetHidTransport(HidTransport transport)
        {
            lock (_devicesLock)
            {
                ClientHandle handle = Handle;
                IntPtr error;
                if (transport == null)
                {
                    Interop.Check(NativeMethods.aa_client_set_hid_io(handle, IntPtr.Zero, out error), error);
                }
                else
                {
                    NativeMethods.aa_hid_io io = HidTransportBridge.Register(transport);
                    AaStatus status = NativeMethods.aa_client_set_hid_io(handle, ref io, out error);
                    if (status != AaStatus.Ok && status != AaStatus.Panic)
                    {
                        // Not taken over, so never released by the library (after a panic it may
                        // have been: then the state is left to leak rather than freed twice).
                        HidTransportBridge.Abandon(io);
                    }
                    Interop.Check(status, error);
                }
                ForgetVirtualDevices();
            }
        }

        /// <summary>
        /// Runs <paramref name="action"/> with the testkit device set this client reaches, under the
        /// client's device lock; with <paramref name="create"/>, first makes one (owned by the
        /// client) and switches the client to it when there is none. The set is null otherwise.
        /// </summary>
        internal void WithVirtualDevices(bool create, Action<Testing.VirtualDevices> action)
        {
            lock (_devicesLock)
            {
                ClientHandle handle = Handle;
                if (_virtualDevices == null && create)
                {
                    var devices = new Testing.VirtualDevices();
                    try
                    {
                        devices.SetOn(handle);
                    }
                    catch
                    {
                        devices.Dispose();
                        throw;
                    }
                    _virtualDevices = devices;
                    _ownsVirtualDevices = true;
                }
                action(_virtualDevices);
            }
        }

        /// <summary>Makes the client reach the keys of <paramref name="devices"/> (which the caller keeps owning).</summary>
        internal void UseVirtualDevices(Testing.VirtualDevices devices)
        {
            lock (_devicesLock)
            {
                devices.SetOn(Handle);
                ForgetVirtualDevices();
                _virtualDevices = devices;
            }
        }

        private void ForgetVirtualDevices()
        {
            if (_ownsVirtualDevices)
            {
                _virtualDevices.Dispose();
            }
            _virtualDevices = null;
            _ownsVirtualDevices = false;
        }

        /// <summary>The FIDO security keys present now (the virtual keys, for a client in a test).</summary>
        public IReadOnlyList<DeviceInfo> GetDevices()
        {
            ClientHandle handle = Handle;
            string json = Interop.GetString((out IntPtr value, out IntPtr error) =>
                NativeMethods.aa_client_devices_json(handle, out value, out error));
            return Json.ToList(Json.Parse(json), "the device list", DeviceInfo.FromJson);
        }

        /// <summary>Frees the client. Logons started from it stay usable until they are disposed.</summary>
        public void Dispose()
        {
            _handle.Dispose();
            lock (_devicesLock)
            {
                // The library's io keeps the device set itself alive for the client's logons.
                ForgetVirtualDevices();
            }
        }
    }
}
