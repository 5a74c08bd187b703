using System;
using System.Runtime.InteropServices;

namespace AaLogon.Testing
{
    /// <summary>
    /// A software security key (U2F and/or CTAP2) for tests and demos, plugged into an
    /// <see cref="AaClient"/> instead of USB devices. Keys derive from the seed, whatever the
    /// protocols the key speaks: the simulator's demo user has the key of seed "demo" enrolled.
    /// It starts without a PIN and without built-in user verification. Thread-safe. It lives in libaa_logon_testkit, the test-only companion
    /// library (see <see cref="Testkit"/>); without it every member throws
    /// <see cref="NotSupportedException"/>.
    /// </summary>
    /// <remarks>
    /// The key's signature counter starts at 0, so a server that already accepted signatures from
    /// another key of the same seed rejects its first ones as replays: keep one key per seed for
    /// the life of a server.
    /// </remarks>
    public sealed class VirtualKey : IDisposable
    {
        /// <summary>The most PIN retries a key has (CTAP2 keys start with 8).</summary>
        public const int MaxPinRetries = 8;

        private readonly VirtualKeyHandle _handle;

        /// <summary>
        /// Creates a key whose credentials derive from <paramref name="seed"/>, speaking U2F and
        /// CTAP2 (<see cref="KeyProtocols.Both"/>); presence: <see cref="Presence.Always"/>.
        /// </summary>
        /// <exception cref="NotSupportedException">libaa_logon_testkit cannot be loaded.</exception>
        public VirtualKey(string seed)
        {
            byte[] seedBytes = Utf8.Encode(seed, nameof(seed));
            VirtualKeyHandle key = null;
            AaStatus status = Testkit.Call(() => NativeMethods.aa_virtual_key_new(seedBytes, out key));
            if (status != AaStatus.Ok && key != null)
            {
                key.Dispose();
            }
            Testkit.Check(status);
            _handle = key;
            Protocols = KeyProtocols.Both;
        }

        /// <summary>
        /// Creates a key whose credentials derive from <paramref name="seed"/> (the same as those of
        /// any other key of that seed), speaking only <paramref name="protocols"/>; presence:
        /// <see cref="Presence.Always"/>.
        /// </summary>
        /// <exception cref="NotSupportedException">libaa_logon_testkit cannot be loaded.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="protocols"/> is not a <see cref="KeyProtocols"/> value.</exception>
        public VirtualKey(string seed, KeyProtocols protocols)
        {
            if (!Enum.IsDefined(typeof(KeyProtocols), protocols))
            {
                throw new ArgumentOutOfRangeException(nameof(protocols), protocols, "not a KeyProtocols value");
            }
            byte[] seedBytes = Utf8.Encode(seed, nameof(seed));
            VirtualKeyHandle key = null;
            AaStatus status = Testkit.Call(
                () => NativeMethods.aa_virtual_key_new_with_protocols(seedBytes, (uint)protocols, out key));
            if (status != AaStatus.Ok && key != null)
            {
                key.Dispose();
            }
            Testkit.Check(status);
            _handle = key;
            Protocols = protocols;
        }

        /// <summary>
        /// Creates a key whose credentials derive from <paramref name="seed"/> and whose signature
        /// counter is kept in the file <paramref name="stateFile"/> between processes: it continues
        /// from the counter saved there (0 for a new file, which is created) and is saved atomically
        /// before each signature, so successive test runs can use one seed against one server.
        /// </summary>
        /// <exception cref="NotSupportedException">libaa_logon_testkit cannot be loaded.</exception>
        /// <exception cref="AaException">The file belongs to another seed, is malformed, or cannot be read or written (status InvalidArgument).</exception>
        public VirtualKey(string seed, string stateFile)
        {
            byte[] seedBytes = Utf8.Encode(seed, nameof(seed));
            byte[] pathBytes = Utf8.Encode(stateFile, nameof(stateFile));
            VirtualKeyHandle key = null;
            AaStatus status = Testkit.Call(() => NativeMethods.aa_virtual_key_new_with_state(seedBytes, pathBytes, out key));
            if (status != AaStatus.Ok && key != null)
            {
                key.Dispose();
            }
            Testkit.Check(status);
            _handle = key;
            Protocols = KeyProtocols.Both;
        }

        /// <summary>The protocols the key speaks (fixed when it is made).</summary>
        public KeyProtocols Protocols { get; }

        /// <summary>Whether virtual keys can be made: libaa_logon_testkit can be loaded.</summary>
        public static bool IsAvailable
        {
            get { return Testkit.IsAvailable; }
        }

        /// <summary>The key's signature counter (one more after each signature).</summary>
        public uint Counter
        {
            get
            {
                VirtualKeyHandle handle = Handle;
                uint counter = 0;
                Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_counter(handle, out counter)));
                return counter;
            }
        }

        /// <summary>
        /// Whether the key is waiting for a touch right now (it told the host "user presence
        /// required" and was not touched since): lets a test touch at the moment a real user would,
        /// without sleeping.
        /// </summary>
        public bool IsWaitingForTouch
        {
            get
            {
                VirtualKeyHandle handle = Handle;
                bool waiting = false;
                Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_is_waiting_for_touch(handle, out waiting)));
                return waiting;
            }
        }

        /// <summary>
        /// The key's CTAP2 PIN retries left (<see cref="MaxPinRetries"/> at most; 0 means the PIN is
        /// blocked). Setting it changes them: values above <see cref="MaxPinRetries"/> count as
        /// that, and 0 blocks the PIN.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">A negative value is set.</exception>
        public int PinRetries
        {
            get
            {
                VirtualKeyHandle handle = Handle;
                IntPtr retries = Marshal.AllocHGlobal(1);
                try
                {
                    Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_pin_retries(handle, retries)));
                    return Marshal.ReadByte(retries);
                }
                finally
                {
                    Marshal.FreeHGlobal(retries);
                }
            }
            set
            {
                if (value < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), value, "PIN retries must not be negative");
                }
                byte retries = (byte)Math.Min(value, MaxPinRetries);
                VirtualKeyHandle handle = Handle;
                Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_set_pin_retries(handle, retries)));
            }
        }

        /// <summary>
        /// How many CTAPHID_CANCEL commands the key received (whether or not a request was pending):
        /// lets a test check that an abandoned operation was cancelled on the device.
        /// </summary>
        public uint CancelsSeen
        {
            get
            {
                VirtualKeyHandle handle = Handle;
                uint count = 0;
                Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_cancels_seen(handle, out count)));
                return count;
            }
        }

        internal VirtualKeyHandle Handle
        {
            get { return _handle.OrDisposed(nameof(VirtualKey)); }
        }

        /// <summary>Sets when the key reports user presence; <paramref name="delay"/> counts for <see cref="Presence.AfterDelay"/> only.</summary>
        public void SetPresence(Presence presence, TimeSpan delay = default(TimeSpan))
        {
            uint delayMs = delay == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(delay, nameof(delay));
            VirtualKeyHandle handle = Handle;
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_set_presence(handle, (uint)presence, delayMs)));
        }

        /// <summary>Touches the key (for <see cref="Presence.OnDemand"/>). Callable from any thread.</summary>
        public void Touch()
        {
            VirtualKeyHandle handle = Handle;
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_touch(handle)));
        }

        /// <summary>
        /// Sets the key's CTAP2 client PIN to <paramref name="pin"/>, or removes it when it is null,
        /// as if the user had done so; either way the PIN retries go back to
        /// <see cref="MaxPinRetries"/> and PIN tokens issued before stop working. The binding's
        /// UTF-8 copy of the PIN is wiped after the call.
        /// </summary>
        /// <exception cref="MisuseException"><paramref name="pin"/> is empty (<see cref="AaStatus.InvalidArgument"/>).</exception>
        public void SetPin(string pin)
        {
            VirtualKeyHandle handle = Handle;
            byte[] pinBytes = pin == null ? null : Utf8.Encode(pin, nameof(pin));
            try
            {
                Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_set_pin(handle, pinBytes)));
            }
            finally
            {
                Utf8.Wipe(pinBytes);
            }
        }

        /// <summary>
        /// Built-in user verification (a fingerprint sensor): whether the key offers it and whether
        /// the user's verification succeeds. Resets the UV retries to 8.
        /// </summary>
        public void SetUv(bool available, bool succeeds = true)
        {
            VirtualKeyHandle handle = Handle;
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_key_set_uv(handle, available, succeeds)));
        }

        /// <summary>
        /// Plugs the key into <paramref name="client"/>: its logons reach it instead of USB devices
        /// from now on. The first attach gives the client a set of virtual devices of its own
        /// (replacing any <see cref="HidTransport"/> set on it); later attaches of other keys plug
        /// into the same set. A key may be attached to several clients at once.
        /// </summary>
        /// <exception cref="MisuseException">The key is attached to this client already (<see cref="AaStatus.InvalidState"/>).</exception>
        public void AttachTo(AaClient client)
        {
            if (client == null)
            {
                throw new ArgumentNullException(nameof(client));
            }
            client.WithVirtualDevices(true, devices => devices.Plug(this));
        }

        /// <summary>
        /// Unplugs the key from <paramref name="client"/>, as if pulled out of the USB port (also in
        /// the middle of an exchange). <see cref="AttachTo"/> plugs it back in.
        /// </summary>
        /// <exception cref="MisuseException">The key is not attached to this client (<see cref="AaStatus.InvalidState"/>).</exception>
        public void DetachFrom(AaClient client)
        {
            if (client == null)
            {
                throw new ArgumentNullException(nameof(client));
            }
            client.WithVirtualDevices(false, devices =>
            {
                if (devices == null)
                {
                    throw new MisuseException(AaStatus.InvalidState, "The key is not attached to this client.");
                }
                devices.Unplug(this);
            });
        }

        /// <summary>Frees the handle; a key attached to a client stays plugged in until detached.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }
    }
}
