// Certificates the tests need and OpenSSL 3.0's req cannot make: dated in the past.
import { execa } from "execa";

const PYTHON = [
  "import datetime, os, sys",
  "from cryptography import x509",
  "from cryptography.x509.oid import NameOID",
  "from cryptography.hazmat.primitives import hashes, serialization",
  "from cryptography.hazmat.primitives.asymmetric import rsa",
  "key_file, cert_file, cn, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])",
  "if os.path.exists(key_file):",
  "    k = serialization.load_pem_private_key(open(key_file, 'rb').read(), None)",
  "else:",
  "    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)",
  "    open(key_file, 'wb').write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))",
  "n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])",
  "t = datetime.datetime(2020, 1, 1)",
  "c = x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(k.public_key()).serial_number(x509.random_serial_number()).not_valid_before(t).not_valid_after(t + datetime.timedelta(days=days)).sign(k, hashes.SHA256())",
  "open(cert_file, 'wb').write(c.public_bytes(serialization.Encoding.PEM))",
].join("\n");

/**
 * Writes a self-signed certificate valid from 2020-01-01 for `days` days, for the PEM key in
 * `keyFile` (an RSA 2048 key is made there first when there is none). python3-cryptography
 * is a host tool of mkosi's.
 */
export async function writeExpiredCertificate(keyFile: string, certFile: string, commonName: string, days: number): Promise<void> {
  await execa("python3", ["-c", PYTHON, keyFile, certFile, commonName, String(days)]);
}
