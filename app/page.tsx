export default function Home() {
  return <p>Profiles</p>;
}
