using System;

namespace AaLogon.Testing
{
    /// <summary>When a <see cref="VirtualKey"/> reports user presence (a touch).</summary>
    public enum Presence : uint
    {
        /// <summary>Every signature request is touched at once.</summary>
        Always = 1,
        /// <summary>Touched a delay after the key first asked for a touch.</summary>
        AfterDelay = 2,
        /// <summary>Never touched (for timeout and cancel tests).</summary>
        Never = 3,
        /// <summary>Touched when <see cref="VirtualKey.Touch"/> is called.</summary>
        OnDemand = 4,
    }

    /// <summary>
    /// A software U2F security key for tests and demos, plugged into an <see cref="AaClient"/>
    /// instead of USB devices. Keys derive from the seed: the simulator's demo user has the key of
    /// seed "demo" enrolled. Thread-safe. Only libraries built with the test-only
    /// <c>virtual-device</c> feature have it; with others every member throws
    /// <see cref="NotSupportedException"/>.
    /// </summary>
    public sealed class VirtualKey : IDisposable
    {
        private const string MissingFeature =
            "The loaded aa_logon library has no virtual security keys: they exist only in test builds " +
            "(cargo build --features virtual-device).";

        private readonly VirtualKeyHandle _handle;

        /// <summary>Creates a key whose credentials derive from <paramref name="seed"/>; presence: <see cref="Presence.Always"/>.</summary>
        /// <exception cref="NotSupportedException">The library was built without the virtual-device feature.</exception>
        public VirtualKey(string seed)
        {
            byte[] seedBytes = Utf8.Encode(seed, nameof(seed));
            VirtualKeyHandle key = null;
            IntPtr error = IntPtr.Zero;
            uint status = Guard(() => NativeMethods.aa_virtual_key_new(seedBytes, out key, out error));
            _handle = Interop.Created(status, key, error);
        }

        /// <summary>Whether the loaded library has virtual keys (was built with the virtual-device feature).</summary>
        public static bool IsAvailable
        {
            get
            {
                try
                {
                    // Freeing NULL is a no-op that only proves the symbol exists.
                    NativeMethods.aa_virtual_key_free(IntPtr.Zero);
                    return true;
                }
                catch (EntryPointNotFoundException)
                {
                    return false;
                }
            }
        }

        /// <summary>The key's signature counter (one more after each signature).</summary>
        public uint Counter
        {
            get
            {
                VirtualKeyHandle handle = Handle;
                uint counter = 0;
                IntPtr error = IntPtr.Zero;
                Interop.Check(Guard(() => NativeMethods.aa_virtual_key_counter(handle, out counter, out error)), error);
                return counter;
            }
        }

        private VirtualKeyHandle Handle
        {
            get { return _handle.OrDisposed(nameof(VirtualKey)); }
        }

        /// <summary>Sets when the key reports user presence; <paramref name="delay"/> counts for <see cref="Presence.AfterDelay"/> only.</summary>
        public void SetPresence(Presence presence, TimeSpan delay = default(TimeSpan))
        {
            uint delayMs = delay == TimeSpan.Zero ? 0 : AaClientOptions.ToMilliseconds(delay, nameof(delay));
            VirtualKeyHandle handle = Handle;
            IntPtr error = IntPtr.Zero;
            Interop.Check(Guard(() => NativeMethods.aa_virtual_key_set_presence(handle, (uint)presence, delayMs,
                out error)), error);
        }

        /// <summary>Touches the key (for <see cref="Presence.OnDemand"/>). Callable from any thread.</summary>
        public void Touch()
        {
            VirtualKeyHandle handle = Handle;
            IntPtr error = IntPtr.Zero;
            Interop.Check(Guard(() => NativeMethods.aa_virtual_key_touch(handle, out error)), error);
        }

        /// <summary>Plugs the key into <paramref name="client"/>: its logons use virtual keys instead of USB devices from now on.</summary>
        public void AttachTo(AaClient client)
        {
            Plug(NativeMethods.aa_client_attach_virtual_key, client);
        }

        /// <summary>Unplugs the key from <paramref name="client"/>, as if pulled out of the USB port (also mid-operation).</summary>
        public void DetachFrom(AaClient client)
        {
            Plug(NativeMethods.aa_client_detach_virtual_key, client);
        }

        /// <summary>Frees the handle; a key attached to a client stays plugged in until detached.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }

        private void Plug(PlugCall call, AaClient client)
        {
            if (client == null)
            {
                throw new ArgumentNullException(nameof(client));
            }
            ClientHandle clientHandle = client.Handle;
            VirtualKeyHandle handle = Handle;
            IntPtr error = IntPtr.Zero;
            Interop.Check(Guard(() => call(clientHandle, handle, out error)), error);
        }

        private static uint Guard(Func<uint> call)
        {
            try
            {
                return call();
            }
            catch (EntryPointNotFoundException e)
            {
                throw new NotSupportedException(MissingFeature, e);
            }
        }

        private delegate uint PlugCall(ClientHandle client, VirtualKeyHandle key, out IntPtr error);
    }
}
