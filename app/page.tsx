import { ProfileList } from "@/components/profile-list/profile-list";

export default function Home() {
  return <ProfileList />;
}
