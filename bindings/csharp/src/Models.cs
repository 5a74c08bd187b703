using System.Collections.Generic;

namespace AaLogon
{
    /// <summary>One entry of a U2F sign request: the challenge for one security key enrolled for the user.</summary>
    public sealed class SignRequest
    {
        /// <summary>Creates a sign request entry.</summary>
        public SignRequest(string keyHandle, string challenge, string appId, string version)
        {
            KeyHandle = keyHandle;
            Challenge = challenge;
            AppId = appId;
            Version = version;
        }

        /// <summary>The base64url key handle of the enrolled key.</summary>
        public string KeyHandle { get; }

        /// <summary>The server's base64url challenge.</summary>
        public string Challenge { get; }

        /// <summary>The U2F App ID (its SHA-256 is the application parameter).</summary>
        public string AppId { get; }

        /// <summary>The U2F version, "U2F_V2".</summary>
        public string Version { get; }

        /// <summary>One entry of <c>{"signRequests":[{"version","challenge","keyHandle","appId"},…]}</c>.</summary>
        internal static SignRequest FromJson(object value)
        {
            var obj = Json.AsObject(value, "a sign request");
            return new SignRequest(Required(obj, "keyHandle"), Required(obj, "challenge"), Required(obj, "appId"),
                Required(obj, "version"));
        }

        private static string Required(Dictionary<string, object> obj, string name)
        {
            return Json.GetString(obj, name) ??
                   throw new MalformedServerDataException("a sign request has no \"" + name + "\"");
        }
    }

    /// <summary>An authentication chain: the methods a user passes, in order, to log on.</summary>
    public sealed class Chain
    {
        /// <summary>Creates a chain.</summary>
        public Chain(string idHex, string name, string shortName, IReadOnlyList<string> methods, bool isEnabled,
            long? position)
        {
            IdHex = idHex;
            Name = name;
            ShortName = shortName;
            Methods = methods;
            IsEnabled = isEnabled;
            Position = position;
        }

        /// <summary>The chain's id (hex), or null when the server did not send it.</summary>
        public string IdHex { get; }

        /// <summary>The chain's name, e.g. "LDAP + U2F".</summary>
        public string Name { get; }

        /// <summary>The chain's short name (may be empty).</summary>
        public string ShortName { get; }

        /// <summary>The method ids in order, e.g. "LDAP_PASSWORD:1", "U2F:1".</summary>
        public IReadOnlyList<string> Methods { get; }

        /// <summary>Whether the chain is enabled.</summary>
        public bool IsEnabled { get; }

        /// <summary>The chain's position in the server's list, or null when not sent.</summary>
        public long? Position { get; }

        /// <summary>The chain's name and methods, e.g. "LDAP + U2F [LDAP_PASSWORD:1, U2F:1]".</summary>
        public override string ToString()
        {
            return Name + " [" + string.Join(", ", Methods) + "]";
        }

        internal static Chain FromJson(object value)
        {
            var obj = Json.AsObject(value, "a chain");
            return new Chain(
                Json.GetString(obj, "id_hex"),
                Json.GetString(obj, "name") ?? "",
                Json.GetString(obj, "short_name") ?? "",
                Json.GetStrings(obj, "methods"),
                Json.GetBoolean(obj, "is_enabled", true),
                Json.GetInteger(obj, "position"));
        }
    }

    /// <summary>The chains a user may use for an event, from <see cref="AaClient.GetChains"/>.</summary>
    public sealed class UserChains
    {
        /// <summary>Creates the result.</summary>
        public UserChains(IReadOnlyList<Chain> chains, bool userIsLocked)
        {
            Chains = chains;
            UserIsLocked = userIsLocked;
        }

        /// <summary>The chains, in the server's order (empty when the user is locked).</summary>
        public IReadOnlyList<Chain> Chains { get; }

        /// <summary>Whether the user is locked and cannot start a logon.</summary>
        public bool UserIsLocked { get; }
    }

    /// <summary>A completed authentication, from <see cref="AaClient.GetLoginSession"/>.</summary>
    public sealed class LoginSession
    {
        /// <summary>Creates the result.</summary>
        public LoginSession(string userName, string userId, string eventName, string created, string chainId,
            string rawJson)
        {
            UserName = userName;
            UserId = userId;
            EventName = eventName;
            Created = created;
            ChainId = chainId;
            RawJson = rawJson;
        }

        /// <summary>The user's name, e.g. "JAGUAR\denis".</summary>
        public string UserName { get; }

        /// <summary>The user's id.</summary>
        public string UserId { get; }

        /// <summary>The event the user logged on to.</summary>
        public string EventName { get; }

        /// <summary>When the session was created, as the server wrote it.</summary>
        public string Created { get; }

        /// <summary>The id (hex) of the chain used.</summary>
        public string ChainId { get; }

        /// <summary>The server's whole answer, for fields without a property.</summary>
        public string RawJson { get; }

        internal static LoginSession FromJson(string json)
        {
            var obj = Json.AsObject(Json.Parse(json), "the login session");
            return new LoginSession(Json.GetString(obj, "user_name"), Json.GetString(obj, "user_id"),
                Json.GetString(obj, "event_name"), Json.GetString(obj, "created"), Json.GetString(obj, "chain_id"), json);
        }
    }

    /// <summary>A FIDO security key present on this machine, from <see cref="AaClient.GetDevices"/>.</summary>
    public sealed class DeviceInfo
    {
        /// <summary>Creates the result.</summary>
        public DeviceInfo(string path, int vendorId, int productId, string manufacturer, string product,
            string serialNumber)
        {
            Path = path;
            VendorId = vendorId;
            ProductId = productId;
            Manufacturer = manufacturer;
            Product = product;
            SerialNumber = serialNumber;
        }

        /// <summary>The platform path of the device (e.g. /dev/hidraw3).</summary>
        public string Path { get; }

        /// <summary>The USB vendor id.</summary>
        public int VendorId { get; }

        /// <summary>The USB product id.</summary>
        public int ProductId { get; }

        /// <summary>The manufacturer string, or null.</summary>
        public string Manufacturer { get; }

        /// <summary>The product string, or null.</summary>
        public string Product { get; }

        /// <summary>The serial number, or null.</summary>
        public string SerialNumber { get; }

        internal static DeviceInfo FromJson(object value)
        {
            var obj = Json.AsObject(value, "a device");
            return new DeviceInfo(
                Json.GetString(obj, "path") ?? "",
                (int)(Json.GetInteger(obj, "vendor_id") ?? 0),
                (int)(Json.GetInteger(obj, "product_id") ?? 0),
                Json.GetString(obj, "manufacturer"),
                Json.GetString(obj, "product"),
                Json.GetString(obj, "serial_number"));
        }
    }
}
